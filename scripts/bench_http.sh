#!/usr/bin/env bash
# Débit de serveur_http comparé à nginx et à `python3 -m http.server`, dans la
# même exécution, sur la même page (pages_serveur/en/index.html) :
#   1. `wrk -t2 -c16 -d10s` avec `Connection: close` (une requête par
#      connexion, comme la fiche) : serveur_http --silencieux, nginx, python3 ;
#   2. la même chose en keep-alive : serveur_http --keep-alive, nginx ;
#   3. la mémoire (RSS) de serveur_http au repos, au démarrage et après les
#      mesures.
# Affiche requêtes/s, latence p99 et les rapports. Objectifs (2 cœurs) :
# close >= 1,1 x nginx et >= 10 x python3 ; keep-alive >= 1,0 x nginx ;
# latence p99 au plus celle de nginx, dans les deux modes ; mémoire au repos
# < 8 Mo.
#
# Chaque mesure est refaite TOURS fois (3), en alternant les serveurs, et
# c'est la médiane qui compte : sur une machine partagée, la charge des autres
# programmes varie d'une minute à l'autre et toucherait sinon un seul serveur.
#
# Variables : DUREE (10s), TOURS (3), CONNEXIONS (16), FILS (2),
# NGINX_WORKERS (2).
# Outils : wrk, nginx (nginx-light suffit), python3.
set -euo pipefail

DUREE=${DUREE:-10s}
TOURS=${TOURS:-3}
CONNEXIONS=${CONNEXIONS:-16}
FILS=${FILS:-2}
NGINX_WORKERS=${NGINX_WORKERS:-2}
PAGE=/index.html

racine_depot=$(cd "$(dirname "$0")/.." && pwd)
pages="$racine_depot/pages_serveur"

for outil in wrk nginx python3; do
    command -v "$outil" >/dev/null || { echo "bench_http.sh : $outil introuvable (apt-get install wrk nginx-light python3)" >&2; exit 1; }
done

echo "== compilation (release)"
cargo build --release --quiet -p serveur_http --manifest-path "$racine_depot/Cargo.toml"
serveur="$racine_depot/target/release/serveur_http"

tmp=$(mktemp -d)
pids=()
nettoyer() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap nettoyer EXIT

# port_libre, attendre_port
source "$racine_depot/scripts/commun_http.sh"

# wrk ; ajoute "req/s p99_ms" à $tmp/res-<clé> ; refuse les statuts non-2xx.
mesurer() { # clé nom url [en-tête]
    local cle=$1; shift
    local nom=$1 url=$2 sortie
    local args=(-t"$FILS" -c"$CONNEXIONS" -d"$DUREE" --latency)
    if [ $# -ge 3 ]; then args+=(-H "$3"); fi
    sortie=$(wrk "${args[@]}" "$url")
    echo "$sortie" > "$tmp/wrk-$nom.txt"
    if grep -q "Non-2xx" <<<"$sortie"; then
        echo "bench_http.sh : $nom a répondu autre chose que 2xx :" >&2
        echo "$sortie" >&2
        exit 1
    fi
    local rps p99 erreurs
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$sortie")
    p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; printf "%.2f", v}' <<<"$sortie")
    erreurs=$(awk '/Socket errors/ {print}' <<<"$sortie")
    printf '  %-32s %10.0f req/s   p99 %7s ms  %s\n' "$nom" "$rps" "$p99" "$erreurs"
    echo "$rps $p99" >> "$tmp/res-$cle"
}

# Médiane de la colonne $2 (1 = req/s, 2 = p99) des mesures de la clé $1.
mediane() {
    awk -v c="$2" '{print $c}' "$tmp/res-$1" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'
}

rss_ko() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

rapport() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# --- serveur_http ----------------------------------------------------------
port_rust=$(port_libre)
"$serveur" --port "$port_rust" --racine "$pages" --silencieux 2>"$tmp/serveur.err" &
pid_rust=$!; pids+=("$pid_rust")
attendre_port "$port_rust"
sleep 0.2
rss_depart=$(rss_ko "$pid_rust")

port_ka=$(port_libre)
"$serveur" --port "$port_ka" --racine "$pages" --silencieux --keep-alive 2>"$tmp/serveur-ka.err" &
pids+=("$!")
attendre_port "$port_ka"

# --- nginx (configuration générée ici, mêmes pages en/) ----------------------
port_nginx=$(port_libre)
mkdir -p "$tmp/nginx"
cat > "$tmp/nginx/nginx.conf" <<EOF
worker_processes $NGINX_WORKERS;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    default_type text/html;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    open_file_cache max=100 inactive=60s;
    client_body_temp_path $tmp/nginx/body;
    proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;
    server {
        listen 127.0.0.1:$port_nginx;
        root $pages/en;
    }
}
EOF
nginx -c "$tmp/nginx/nginx.conf" -p "$tmp/nginx" 2>"$tmp/nginx/stderr" &
pids+=("$!")
attendre_port "$port_nginx"

# --- python3 -m http.server ------------------------------------------------
port_py=$(port_libre)
(cd "$pages/en" && exec python3 -m http.server "$port_py" --bind 127.0.0.1 >/dev/null 2>&1) &
pids+=("$!")
attendre_port "$port_py"

close="Connection: close"
for tour in $(seq "$TOURS"); do
    echo "== tour $tour/$TOURS : wrk -t$FILS -c$CONNEXIONS -d$DUREE, Connection: close, $PAGE (nginx : worker_processes $NGINX_WORKERS)"
    mesurer rust_close "serveur_http --silencieux" "http://127.0.0.1:$port_rust$PAGE" "$close"
    mesurer nginx_close "nginx" "http://127.0.0.1:$port_nginx$PAGE" "$close"
    mesurer py_close "python3 -m http.server" "http://127.0.0.1:$port_py$PAGE" "$close"
    echo "== tour $tour/$TOURS : wrk -t$FILS -c$CONNEXIONS -d$DUREE, keep-alive, $PAGE"
    mesurer rust_ka "serveur_http --keep-alive" "http://127.0.0.1:$port_ka$PAGE"
    mesurer nginx_ka "nginx" "http://127.0.0.1:$port_nginx$PAGE"
done

echo "== médianes sur $TOURS tours"
for cle in rust_close nginx_close py_close rust_ka nginx_ka; do
    printf '  %-12s %10.0f req/s   p99 %7s ms\n' "$cle" "$(mediane $cle 1)" "$(mediane $cle 2)"
done
rust_close=$(mediane rust_close 1)
nginx_close=$(mediane nginx_close 1)
py_close=$(mediane py_close 1)
rust_ka=$(mediane rust_ka 1)
nginx_ka=$(mediane nginx_ka 1)

sleep 1
rss_apres=$(rss_ko "$pid_rust")

echo "== rapports (médianes ; charge moyenne de la machine : $(cut -d' ' -f1-3 /proc/loadavg))"
echo "close      : serveur_http / nginx   = $(rapport "$rust_close" "$nginx_close")  (objectif >= 1.1)"
echo "close      : serveur_http / python3 = $(rapport "$rust_close" "$py_close")  (objectif >= 10)"
echo "keep-alive : serveur_http / nginx   = $(rapport "$rust_ka" "$nginx_ka")  (objectif >= 1.0)"
echo "p99 close      : serveur_http $(mediane rust_close 2) ms, nginx $(mediane nginx_close 2) ms, rapport $(rapport "$(mediane rust_close 2)" "$(mediane nginx_close 2)")  (objectif <= 1.0)"
echo "p99 keep-alive : serveur_http $(mediane rust_ka 2) ms, nginx $(mediane nginx_ka 2) ms, rapport $(rapport "$(mediane rust_ka 2)" "$(mediane nginx_ka 2)")  (objectif <= 1.0)"
echo "mémoire de serveur_http au repos : $rss_depart Ko au démarrage, $rss_apres Ko après les mesures (objectif < 8192 Ko)"
