#!/usr/bin/env bash
# Load test of serveur_chat against its floor, in the same run.
#
# The load generator (crates/serveur_chat/examples/charge_chat.rs) registers
# CLIENTS clients that send MESSAGES messages each at a paced aggregate rate;
# every client reads everything (large receive buffers). For each rate it
# reports deliveries/s, p50/p99 latency, lost deliveries and the server's CPU
# time per delivery (/proc/PID/stat, all threads). It drives, alternately:
#   - serveur_chat (release), its stdout log on, to a file;
#   - relais_nu (crates/serveur_chat/examples/relais_nu.rs): the bare loop,
#     one recv_from per datagram and one send_to per delivery, no protocol,
#     no log: the floor the kernel's loopback path sets.
# The rate steps up until both lose deliveries; the ratio of CPU per delivery
# (serveur_chat / relais_nu) is printed for each rate.
#
# Usage: scripts/bench_chat.sh            (defaults below)
#        RATES="2000 6000" MESSAGES=500 scripts/bench_chat.sh
set -euo pipefail
cd "$(dirname "$0")/.."

CLIENTS=${CLIENTS:-50}
MESSAGES=${MESSAGES:-2000}
RATES=${RATES:-"2000 4000 6000 8000 10000 12000 14000 16000"}
TARGET=${CARGO_TARGET_DIR:-target}/release

cargo build --release --quiet -p serveur_chat --bin serveur_chat --example charge_chat --example relais_nu

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# start NAME CMD... : starts a server, waits for its ready line, sets $port.
start() {
    local name=$1
    shift
    "$@" >"$work/$name.out" 2>"$work/$name.err" &
    pids+=($!)
    last_pid=$!
    for _ in $(seq 100); do
        port=$(sed -n 's/.*en écoute sur 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/$name.err")
        [[ -n $port ]] && return
        sleep 0.05
    done
    echo "bench_chat: $name ne démarre pas" >&2
    cat "$work/$name.err" >&2
    exit 1
}

start serveur_chat "$TARGET/serveur_chat" --port 0
chat_pid=$last_pid chat_port=$port
start relais_nu "$TARGET/examples/relais_nu" 127.0.0.1:0
relay_pid=$last_pid relay_port=$port

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

echo "machine : $(nproc) cœurs, $(uname -r), charge $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$CLIENTS clients x $MESSAGES messages, remises = messages x $((CLIENTS - 1))"
printf '%-13s %7s %8s %11s %7s %9s %9s %10s\n' programme "msg/s" "obtenu" "remises/s" perdues "p50 µs" "p99 µs" "CPU µs/r"
best_chat=0 best_relay=0
sent_total=0
for rate in $RATES; do
    declare -A cpu=()
    chat_lost=0 relay_lost=0
    for who in serveur_chat relais_nu; do
        if [[ $who == serveur_chat ]]; then pid=$chat_pid p=$chat_port; else pid=$relay_pid p=$relay_port; fi
        line=$("$TARGET/examples/charge_chat" --serveur "127.0.0.1:$p" --pid "$pid" \
            --clients "$CLIENTS" --messages "$MESSAGES" --rate "$rate" | grep '^RESULT')
        lost=$(field lost "$line")
        cpu[$who]=$(field cpu_us_per_delivery "$line")
        printf '%-13s %7s %8s %11s %7s %9s %9s %10s\n' "$who" "$rate" "$(field achieved_rate "$line")" \
            "$(field deliveries_per_s "$line")" "$lost" "$(field p50_us "$line")" "$(field p99_us "$line")" "${cpu[$who]}"
        if [[ $who == serveur_chat ]]; then
            chat_lost=$lost
            # registrations + messages + quits, each logged once.
            sent_total=$((sent_total + CLIENTS * (MESSAGES + 2)))
            ((lost == 0 && rate > best_chat)) && best_chat=$rate
        else
            relay_lost=$lost
            ((lost == 0 && rate > best_relay)) && best_relay=$rate
        fi
    done
    awk -v a="${cpu[serveur_chat]}" -v b="${cpu[relais_nu]}" \
        'BEGIN { if (b > 0) printf "  rapport CPU/remise serveur_chat / relais_nu : %.3f\n", a / b }'
    unset cpu
    if ((chat_lost > 0 && relay_lost > 0)); then break; fi
done

kill -INT "$chat_pid"
status=0
wait "$chat_pid" || status=$?
logged=$(grep -c '^recv_data : ' "$work/serveur_chat.out" || true)
echo "serveur_chat : sortie $status après Ctrl-C, $logged lignes recv_data journalisées pour $sent_total datagrammes envoyés"
grep -E 'perdue|limité' "$work/serveur_chat.err" || true
echo "débit sans perte le plus haut : serveur_chat $best_chat msg/s, relais_nu $best_relay msg/s"
