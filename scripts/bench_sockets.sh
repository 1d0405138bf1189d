#!/usr/bin/env bash
# TP 04 (mixed_server crate): speed against anchors, in the same run.
#
# 1. Round trips: CLIENTS concurrent TCP clients (crates/mixed_server/
#    examples/charge.rs) send "Bonjour serveur TCP" and wait for the answer,
#    for DUREE seconds, against:
#      - tcp_server (release), its stdout log on, to a file;
#      - echo_nu (examples/echo_nu.rs): the bare thread-per-connection loop,
#        no log, no cap, no timeouts: the floor of the design;
#      - the sheet's server.py made threaded (examples/serveur_threads.py).
#    Each line: round trips/s, p99 latency, the server's CPU time per round
#    trip (/proc/PID/stat, all threads). Then the ratios to echo_nu.
#    Target: tcp_server <= 1.15x echo_nu's CPU per round trip, >= its rate.
# 2. TLS: full handshakes/s (no resumption, THREADS client threads) against
#    mixed_server --tls and nginx (nginx-light, same certificate and key,
#    session cache and tickets off), alternated ROUNDS times: the ratio of
#    the medians. Target: >= 1.0x nginx.
#
#    tcp_server and echo_nu run alternately ROUNDS times (default 5, the
#    order swapped every round): a run's rate drifts by up to +-15 % from
#    one minute to the next with the same binary, so the throughput ratio is
#    also given as the median of each round's ratio (two runs seconds apart).
#    The load generator shares the machine: when it is saturated ("inactif"
#    near 0 %), round trips/s = cores / (machine CPU per round trip), so the
#    throughput ratio is the inverse of the machine CPU ratio (server and
#    client), and ">= 1.0x" asks the server for no more CPU than echo_nu.
#    "CPU serveur / CPU reste" (server ticks over all other busy ticks,
#    mostly charge's) does not drift with the machine: its ratio is the
#    server's extra cost, measured against the same client in the same run.
# Usage: scripts/bench_sockets.sh     DUREE=10 CLIENTS=100 THREADS=4 ROUNDS=5 (seconds per run)
# The machine's other load disturbs the figures: compare ratios of one run.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_RUN=${DUREE:-5}
CLIENTS=${CLIENTS:-100}
THREADS=${THREADS:-4}
ROUNDS=${ROUNDS:-5}
TARGET=${CARGO_TARGET_DIR:-target}/release
TICK=$(getconf CLK_TCK)

cargo build --release --quiet -p mixed_server --bin tcp_server --bin mixed_server \
    --example charge --example echo_nu

BENCH=bench_sockets
source "$(dirname "$0")/commun_bench.sh"

# cpu PID... : user+system ticks of these processes (all their threads).
cpu() {
    local total=0 pid
    for pid in "$@"; do
        read -r -a f <"/proc/$pid/stat"
        # Fields 14 and 15 (utime, stime), counted after the ")" of comm.
        local rest=${f[*]}
        rest=${rest##*) }
        read -r -a g <<<"$rest"
        total=$((total + g[11] + g[12]))
    done
    echo "$total"
}

# machine : busy and idle ticks of the whole machine (/proc/stat), all CPUs.
machine() {
    awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat
}

# Per server: the rounds' figures, space-separated.
declare -A rate cpu_rt p99 share
round_trips() {
    local name=$1
    shift
    start "$name" "$@"
    local pid=$last_pid before after line r p c m busy0 idle0 busy1 idle1
    before=$(cpu "$pid")
    read -r busy0 idle0 < <(machine)
    line=$("$TARGET/examples/charge" aller-retour --port "$port" --clients "$CLIENTS" --secondes "$SECONDS_RUN")
    after=$(cpu "$pid")
    read -r busy1 idle1 < <(machine)
    kill "$pid"
    local n=${line#aller-retours=}
    n=${n%% *}
    r=$(sed 's/.*par-seconde=\([0-9]*\).*/\1/' <<<"$line")
    p=$(sed 's/.*p99-us=\([0-9]*\).*/\1/' <<<"$line")
    local t=$((after - before)) b=$((busy1 - busy0)) i=$((idle1 - idle0))
    c=$(awk -v t=$t -v hz="$TICK" -v n="$n" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
    m=$(awk -v t=$b -v hz="$TICK" -v n="$n" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
    local sh
    sh=$(awk -v t=$t -v b=$b 'BEGIN { printf "%.3f", t / (b - t) }')
    rate[$name]+="$r " p99[$name]+="$p " cpu_rt[$name]+="$c " share[$name]+="$sh "
    printf '%-16s %7s aller-retours/s  p99 %6s µs  CPU serveur %6s, machine %6s µs/aller-retour  CPU serveur / CPU reste %s  inactif %s %%\n' \
        "$name" "$r" "$p" "$c" "$m" "$sh" "$(awk -v i=$i -v b=$b 'BEGIN { printf "%.1f", 100 * i / (i + b) }')"
}

echo "== 1. $CLIENTS clients TCP, aller-retours pendant $SECONDS_RUN s, $ROUNDS manches alternées ($(uptime | sed 's/.*load/load/'))"
round_ratios=""
for round in $(seq "$ROUNDS"); do
    # Swapped every round: neither server always runs first.
    if ((round % 2)); then
        round_trips tcp_server "$TARGET/tcp_server" --port 0
        round_trips echo_nu "$TARGET/examples/echo_nu" 0
    else
        round_trips echo_nu "$TARGET/examples/echo_nu" 0
        round_trips tcp_server "$TARGET/tcp_server" --port 0
    fi
    read -r -a ours <<<"${rate[tcp_server]}"
    read -r -a theirs <<<"${rate[echo_nu]}"
    round_ratios+="$(awk -v a="${ours[-1]}" -v b="${theirs[-1]}" 'BEGIN { printf "%.3f", a / b }') "
done
if command -v python3 >/dev/null; then
    round_trips python_threads python3 -u crates/mixed_server/examples/serveur_threads.py 0
fi
for name in tcp_server echo_nu; do
    printf '%-20s médianes : %s aller-retours/s, p99 %s µs, CPU %s µs/aller-retour\n' "$name" \
        "$(median_of "${rate[$name]}")" "$(median_of "${p99[$name]}")" "$(median_of "${cpu_rt[$name]}")"
done
awk -v a="$(median_of "${cpu_rt[tcp_server]}")" -v b="$(median_of "${cpu_rt[echo_nu]}")" \
    -v ra="$(median_of "${rate[tcp_server]}")" -v rb="$(median_of "${rate[echo_nu]}")" \
    'BEGIN { printf "tcp_server / echo_nu (médianes) : CPU par aller-retour %.2fx (cible <= 1.15), débit %.2fx (cible >= 1)\n", a / b, ra / rb }'
awk -v r="$(median_of "$round_ratios")" -v sa="$(median_of "${share[tcp_server]}")" -v sb="$(median_of "${share[echo_nu]}")" \
    'BEGIN { printf "tcp_server / echo_nu : débit, médiane des rapports par manche %.2fx ; CPU serveur / CPU reste %.2fx\n", r, sa / sb }'
if [[ -n ${rate[python_threads]:-} ]]; then
    awk -v ra="$(median_of "${rate[tcp_server]}")" -v rb="${rate[python_threads]}" \
        'BEGIN { printf "tcp_server / serveur_threads.py : débit %.2fx\n", ra / rb }'
fi

echo "== 2. poignées de main TLS complètes ($THREADS threads clients, $SECONDS_RUN s, $ROUNDS manches alternées)"
if ! command -v nginx >/dev/null; then
    echo "nginx absent (apt-get install nginx-light) : pas de comparaison TLS"
    exit 0
fi
"$TARGET/mixed_server" certificat --dossier "$work/pki" >/dev/null
start mixed_tls "$TARGET/mixed_server" --tls --dossier "$work/pki" --port 0 --port-udp 0
tls_port=$port
nginx_port=$(free_port)
cat >"$work/nginx.conf" <<CONF
daemon off;
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx.err;
events { worker_connections 1024; }
http {
    access_log off;
    server {
        listen 127.0.0.1:$nginx_port ssl;
        ssl_certificate $work/pki/serveur.pem;
        ssl_certificate_key $work/pki/serveur.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache off;
        ssl_session_tickets off;
    }
}
CONF
nginx -p "$work" -c "$work/nginx.conf" &
pids+=($!)
wait_port "$nginx_port" nginx

# handshakes NAME PORT: one run; prints it, appends its rate to NAME's list.
declare -A handshakes_per_s
handshakes() {
    local line
    line=$("$TARGET/examples/charge" poignees-tls --port "$2" --ca "$work/pki/ca.pem" --threads "$THREADS" --secondes "$SECONDS_RUN")
    printf '%-20s %s\n' "$1" "$line"
    handshakes_per_s[$1]+="${line##*par-seconde=} "
}
for round in $(seq "$ROUNDS"); do
    if ((round % 2)); then
        handshakes "mixed_server --tls" "$tls_port"
        handshakes nginx "$nginx_port"
    else
        handshakes nginx "$nginx_port"
        handshakes "mixed_server --tls" "$tls_port"
    fi
done
awk -v a="$(median_of "${handshakes_per_s[mixed_server --tls]}")" -v b="$(median_of "${handshakes_per_s[nginx]}")" \
    'BEGIN { printf "médianes : mixed_server --tls %d, nginx %d poignées de main/s ; rapport %.2fx (cible >= 1.0)\n", a, b, a / b }'
