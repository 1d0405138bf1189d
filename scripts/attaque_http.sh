#!/usr/bin/env bash
# Déni de service : un client hostile ne doit gêner personne. Chaque attaque
# tourne à côté de clients normaux, contre serveur_http (mode de la fiche et
# --keep-alive) et contre nginx (réglages par défaut de Debian :
# worker_processes auto, worker_connections 768) sur les mêmes pages, dans la
# même exécution. Attaques :
#   lent      : 1 000 connexions qui envoient 1 octet par seconde (slowloris)
#   muet      : 1 000 connexions qui n'envoient rien
#   nonlecteur: 200 clients qui demandent une page de 67 Mo et ne lisent pas
#   pipeline  : 500 connexions qui enchaînent des requêtes sans lire
#   wrk-ka    : wrk -c5000 en keep-alive
#   wrk-close : wrk -c5000 avec « Connection: close »
# (une connexion fermée par le serveur est rouverte, comme le ferait un
# attaquant). Clients normaux, pendant l'attaque : curl, et un client qui
# envoie sa ligne de requête, attend 100 ms, puis la ligne vide. Affiche par
# cas et par serveur : réussites, latence p50/p95 des clients normaux, et pour
# serveur_http la mémoire (RSS) et le nombre de fils au plus haut.
# Objectif : p95 < 1 s pour les deux clients, partout.
#
# L'attaque dure tant que les clients normaux passent (CLIENTS requêtes de
# chacun, espacées de 150 ms, après 2 s d'installation de l'attaque).
# Variables : CLIENTS (20), CAS (liste, tous par défaut).
# Outils : python3, curl, wrk, nginx (apt-get install wrk nginx-light curl).
set -euo pipefail

CLIENTS=${CLIENTS:-20}
CAS=${CAS:-"lent muet nonlecteur pipeline wrk-ka wrk-close"}

racine_depot=$(cd "$(dirname "$0")/.." && pwd)

for outil in python3 curl wrk nginx; do
    command -v "$outil" >/dev/null || { echo "attaque_http.sh : $outil introuvable (apt-get install wrk nginx-light curl python3)" >&2; exit 1; }
done
# 5 000 connexions de wrk, 1 000 de l'attaquant, et leurs deux bouts.
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

echo "== compilation (release)"
cargo build --release --quiet -p serveur_http --manifest-path "$racine_depot/Cargo.toml"
serveur="$racine_depot/target/release/serveur_http"

tmp=$(mktemp -d)
# nginx's workers run as another user: they must read the pages.
chmod 755 "$tmp"
pids=()
nettoyer() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap nettoyer EXIT

# Les pages de la fiche, plus une page de 67 Mo.
cp -r "$racine_depot/pages_serveur" "$tmp/pages"
head -c $((67 * 1024 * 1024)) /dev/zero | tr '\0' 'x' > "$tmp/pages/en/gros.html"

cat > "$tmp/outils.py" <<'PYTHON'
import socket, subprocess, sys, time

def ouvrir(port, envoi, rcvbuf=None):
    try:
        s = socket.socket()
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(2)
        s.connect(("127.0.0.1", port))
        if envoi:
            s.sendall(envoi)
        s.setblocking(False)
        return s
    except OSError:
        return None

def ferme(s):
    try:
        return s.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True

def attaque(cas, port, duree):
    requete = b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"
    envoi, nombre, rcvbuf, goutte = {
        "lent": (b"GET / HTTP/1.1\r\nX-a: ", 1000, None, True),
        "muet": (b"", 1000, None, False),
        "nonlecteur": (b"GET /gros.html HTTP/1.1\r\nHost: x\r\n\r\n", 200, 4096, False),
        "pipeline": (requete * 200, 500, 4096, False),
    }[cas]
    prises = [ouvrir(port, envoi, rcvbuf) for _ in range(nombre)]
    fin = time.time() + duree
    while time.time() < fin:
        for i, s in enumerate(prises):
            if s is not None and goutte:
                try:
                    s.send(b"a")
                    continue
                except OSError:
                    pass
            if s is None or goutte or ferme(s):
                if s is not None:
                    s.close()
                prises[i] = ouvrir(port, envoi, rcvbuf)
        time.sleep(1)

def pause(port):
    debut = time.time()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.settimeout(5)
        s.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n")
        time.sleep(0.1)
        s.sendall(b"\r\n")
        recu = b""
        while True:
            morceau = s.recv(65536)
            if not morceau:
                break
            recu += morceau
        ok = recu.startswith(b"HTTP/1.") and b" 200 OK" in recu.split(b"\r\n")[0]
        if not ok:
            print("pause :", recu.split(b"\r\n")[0][:60] or "fermée sans réponse", file=sys.stderr)
    except OSError as e:
        print("pause :", e, file=sys.stderr)
        ok = False
    return ok, time.time() - debut

def boucle_curl(port):
    debut = time.time()
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-m", "5", "-w", "%{http_code}",
                        f"http://127.0.0.1:{port}/index.html"], capture_output=True, text=True)
    return r.stdout == "200", time.time() - debut

def clients(port, n):
    res = {"curl": [], "pause": []}
    for _ in range(n):
        res["curl"].append(boucle_curl(port))
        res["pause"].append(pause(port))
        time.sleep(0.15)
    for nom, mesures in res.items():
        temps = sorted(t for _, t in mesures)
        ok = sum(1 for o, _ in mesures if o)
        p = lambda q: temps[min(len(temps) - 1, int(q * len(temps)))] * 1000
        print(f"{nom} {ok}/{len(mesures)} {p(0.5):.0f} {p(0.95):.0f}")

if sys.argv[1] == "attaque":
    attaque(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
else:
    clients(int(sys.argv[2]), int(sys.argv[3]))
PYTHON

# port_libre, attendre_port
source "$racine_depot/scripts/commun_http.sh"

# Démarre un serveur sur un port libre ; affiche "pid port".
demarrer() { # serveur_http|serveur_http-ka|nginx
    local port pid
    port=$(port_libre)
    case $1 in
        serveur_http) "$serveur" --port "$port" --racine "$tmp/pages" --silencieux 2>"$tmp/serveur.err" & pid=$! ;;
        serveur_http-ka) "$serveur" --port "$port" --racine "$tmp/pages" --silencieux --keep-alive 2>"$tmp/serveur.err" & pid=$! ;;
        nginx)
            mkdir -p "$tmp/nginx"
            cat > "$tmp/nginx/nginx.conf" <<EOF
worker_processes auto;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log crit;
events { worker_connections 768; }
http {
    access_log off;
    default_type text/html;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    client_body_temp_path $tmp/nginx/body;
    proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;
    server {
        listen 127.0.0.1:$port;
        root $tmp/pages/en;
    }
}
EOF
            nginx -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/error.log" & pid=$! ;;
    esac
    attendre_port "$port"
    echo "$pid $port"
}

# RSS (Mo) et fils au plus haut, échantillonnés jusqu'à la fin de $2.
surveiller() { # pid fichier-fin
    local rss=0 fils=0 r f
    while [ ! -e "$2" ]; do
        r=$(awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0)
        f=$(awk '/^Threads/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0)
        [ "${r:-0}" -gt "$rss" ] && rss=$r
        [ "${f:-0}" -gt "$fils" ] && fils=$f
        sleep 0.2
    done
    awk -v r="$rss" -v f="$fils" 'BEGIN { printf "RSS max %.1f Mo, %d fils", r / 1024, f }'
}

printf '%-10s %-16s %-22s %-22s %s\n' cas serveur "curl ok p50/p95 ms" "pause ok p50/p95 ms" "serveur_http"
for cas in $CAS; do
    for qui in serveur_http serveur_http-ka nginx; do
        read -r pid port < <(demarrer "$qui")
        pids+=("$pid")
        rm -f "$tmp/fin"
        if [ "$qui" != nginx ]; then
            surveiller "$pid" "$tmp/fin" > "$tmp/mesure" &
            veille=$!
        fi
        case $cas in
            wrk-ka) wrk -t2 -c5000 -d1h "http://127.0.0.1:$port/index.html" > "$tmp/wrk.txt" 2>&1 & attaquant=$! ;;
            wrk-close) wrk -t2 -c5000 -d1h -H "Connection: close" "http://127.0.0.1:$port/index.html" > "$tmp/wrk.txt" 2>&1 & attaquant=$! ;;
            *) python3 "$tmp/outils.py" attaque "$cas" "$port" 3600 & attaquant=$! ;;
        esac
        # Laisser l'attaque s'installer (les connexions muettes passent
        # TCP_DEFER_ACCEPT au bout d'une seconde).
        sleep 2
        mapfile -t res < <(python3 "$tmp/outils.py" clients "$port" "$CLIENTS")
        kill "$attaquant" 2>/dev/null || true
        wait "$attaquant" 2>/dev/null || true
        touch "$tmp/fin"
        memoire=""
        if [ "$qui" != nginx ]; then
            wait "$veille" 2>/dev/null || true
            memoire=$(cat "$tmp/mesure")
        fi
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        read -r _ curl_ok curl_p50 curl_p95 <<<"${res[0]}"
        read -r _ pause_ok pause_p50 pause_p95 <<<"${res[1]}"
        printf '%-10s %-16s %-22s %-22s %s\n' "$cas" "$qui" \
            "$curl_ok $curl_p50/$curl_p95" "$pause_ok $pause_p50/$pause_p95" "$memoire"
    done
done
