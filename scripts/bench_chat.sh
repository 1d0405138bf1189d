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
# 1. CPU per delivery: ROUNDS alternated runs of each at RATIO_RATE, the
#    medians and their ratio (medians, because other processes on the machine
#    disturb single runs).
# 2. Throughput: the rate steps up (RATES) until both lose deliveries; the
#    highest lossless rate of each is printed.
#    In 1 and 2 every client sends from 127.0.0.1 and up to 200 messages/s,
#    so serveur_chat runs with its per-host cap and token buckets raised out
#    of the way (--membres-par-hote 1024 --rafale/--debit 1000000): the
#    checks still run on every datagram, and their cost is what is compared.
# 3. Flood (issue 12): one member sends 1,400-byte messages as fast as it
#    can (charge_chat --inondation) beside CLIENTS members, of which one
#    sends FLOOD_MESSAGES messages at 50/s; serveur_chat with its default
#    buckets (only the per-host cap raised: everyone is 127.0.0.1). Prints,
#    per round, the share of that member's messages delivered to the others
#    (goal 1.0000) and their p99 delay (goal < 50 ms), and the kernel's
#    drops at the server's socket (the set-aside filter's included) and
#    receive-buffer overflows (machine-wide).
#    FLOOD_SERVER=path/to/serveur_chat runs this part against another build
#    (main's, say), to compare.
# 4. --bien-recu (18.1): 2 clients send BIEN_RECU_MESSAGES messages each at
#    RATIO_RATE to serveur_chat --bien-recu (its stdout log on, to a file),
#    each answered `Bien reçu !`, alternated BIEN_RECU_ROUNDS times with
#    relais_nu and the same 2 clients (each message forwarded to the other:
#    also one send per message): the medians of the CPU per answer and
#    their ratio.
#
# Usage: scripts/bench_chat.sh            (defaults below)
#        ROUNDS=3 RATES="2000 6000" MESSAGES=500 scripts/bench_chat.sh
#        ROUNDS=0 RATES="" scripts/bench_chat.sh           (the flood part only)
#        ROUNDS=0 RATES="" FLOOD_ROUNDS=0 scripts/bench_chat.sh   (18.1 only)
#        CHARGE_ARGS="--pause-us 100" scripts/bench_chat.sh   (the old sweep)
#        CHARGE_ARGS="--reception poll" scripts/bench_chat.sh
#        CHARGE_ARGS="--reception lots --pause-us 500" scripts/bench_chat.sh
set -euo pipefail
cd "$(dirname "$0")/.."

CLIENTS=${CLIENTS:-50}
MESSAGES=${MESSAGES:-2000}
# RATES="" skips the throughput part.
RATES=${RATES-"2000 2500 3000 3500 4000 5000 6000 8000 10000"}
TARGET=${CARGO_TARGET_DIR:-target}/release
# Extra charge_chat options (how its receiving thread waits), word-split.
CHARGE_ARGS=${CHARGE_ARGS:-}

cargo build --release --quiet -p serveur_chat --bin serveur_chat --example charge_chat --example relais_nu

BENCH=bench_chat
source "$(dirname "$0")/commun_bench.sh"

start serveur_chat "$TARGET/serveur_chat" --port 0 --membres-par-hote 1024 --rafale 1000000 --debit 1000000
chat_pid=$last_pid chat_port=$port
start relais_nu "$TARGET/examples/relais_nu" 127.0.0.1:0
relay_pid=$last_pid relay_port=$port


# run WHO RATE MESSAGES: one load run, prints a table row, sets $line.
run() {
    local who=$1 rate=$2 messages=$3 pid p
    if [[ $who == serveur_chat ]]; then pid=$chat_pid p=$chat_port; else pid=$relay_pid p=$relay_port; fi
    line=$("$TARGET/examples/charge_chat" --serveur "127.0.0.1:$p" --pid "$pid" \
        --clients "$CLIENTS" --messages "$messages" --rate "$rate" $CHARGE_ARGS | grep '^RESULT')
    printf '%-13s %7s %8s %11s %8s %9s %9s %9s\n' "$who" "$rate" "$(field achieved_rate "$line")" \
        "$(field deliveries_per_s "$line")" "$(field lost "$line")" "$(field p50_us "$line")" \
        "$(field p99_us "$line")" "$(field cpu_us_per_delivery "$line")"
    if [[ $who == serveur_chat ]]; then
        # registrations + messages + quits, each logged once.
        sent_total=$((sent_total + CLIENTS * (messages + 2)))
    fi
}
header() {
    printf '%-13s %7s %8s %11s %8s %9s %9s %9s\n' programme "msg/s" obtenu "remises/s" perdues "p50 µs" "p99 µs" "CPU µs/r"
}

echo "machine : $(nproc) cœurs, $(uname -r), charge $(cut -d' ' -f1-3 /proc/loadavg)"
echo "charge_chat ${CHARGE_ARGS:-(options par défaut)}"
sent_total=0

# 1. CPU per delivery, serveur_chat against the bare relay, alternated
# ROUNDS times at a rate both sustain: the medians and their ratio.
RATIO_RATE=${RATIO_RATE:-2000}
RATIO_MESSAGES=${RATIO_MESSAGES:-400}
ROUNDS=${ROUNDS:-5}
# ROUNDS=0 skips this part.
if ((ROUNDS > 0)); then
    echo
    echo "1. CPU par remise : $ROUNDS manches alternées, $CLIENTS clients x $RATIO_MESSAGES messages à $RATIO_RATE msg/s"
    header
    chat_cpu=() relay_cpu=()
    for _ in $(seq "$ROUNDS"); do
        run serveur_chat "$RATIO_RATE" "$RATIO_MESSAGES"
        chat_cpu+=("$(field cpu_us_per_delivery "$line")")
        run relais_nu "$RATIO_RATE" "$RATIO_MESSAGES"
        relay_cpu+=("$(field cpu_us_per_delivery "$line")")
    done
    chat_median=$(printf '%s\n' "${chat_cpu[@]}" | median)
    relay_median=$(printf '%s\n' "${relay_cpu[@]}" | median)
    awk -v a="$chat_median" -v b="$relay_median" 'BEGIN {
        printf "médianes : serveur_chat %.3f µs/remise, relais_nu %.3f µs/remise, rapport %.3f (objectif <= 1.10)\n", a, b, a / b }'
fi

# 2. The rate steps up until both lose deliveries.
if [[ -n ${RATES// /} ]]; then
    echo
    echo "2. Débit : $CLIENTS clients x $MESSAGES messages, remises = messages x $((CLIENTS - 1))"
    header
    best_chat=0 best_relay=0
    for rate in $RATES; do
        run serveur_chat "$rate" "$MESSAGES"
        chat_lost=$(field lost "$line")
        ((chat_lost == 0 && rate > best_chat)) && best_chat=$rate
        run relais_nu "$rate" "$MESSAGES"
        relay_lost=$(field lost "$line")
        ((relay_lost == 0 && rate > best_relay)) && best_relay=$rate
        if ((chat_lost > 0 && relay_lost > 0)); then break; fi
    done
fi

# 3. Flood: default buckets.
FLOOD_ROUNDS=${FLOOD_ROUNDS:-3}
FLOOD_MESSAGES=${FLOOD_MESSAGES:-250}
if ((FLOOD_ROUNDS > 0)); then
    start serveur_chat_flood "${FLOOD_SERVER:-$TARGET/serveur_chat}" --port 0 --membres-par-hote 1024
    flood_pid=$last_pid flood_port=$port
    echo
    echo "3. Inondation : 1 membre envoie des messages de 1400 octets au plus vite, $CLIENTS membres dont 1 envoie $FLOOD_MESSAGES messages à 50/s (serveur_chat, seaux par défaut)"
    printf '%-7s %12s %10s %9s %9s %14s %14s %12s\n' manche "remis/attendus" rapport "p50 µs" "p99 µs" \
        "inondation env." "rejets noyau" "tampon plein"
    for round in $(seq "$FLOOD_ROUNDS"); do
        line=$("$TARGET/examples/charge_chat" --serveur "127.0.0.1:$flood_port" --pid "$flood_pid" \
            --clients "$CLIENTS" --messages "$FLOOD_MESSAGES" --rate 50 --inondation 1400 $CHARGE_ARGS | grep '^RESULT')
        delivered=$(field deliveries "$line")
        expected=$((delivered + $(field lost "$line")))
        printf '%-7s %12s %10s %9s %9s %14s %14s %12s\n' "$round" "$delivered/$expected" "$(field delivery_ratio "$line")" \
            "$(field p50_us "$line")" "$(field p99_us "$line")" "$(field flood_sent "$line")" \
            "$(field server_drops "$line")" "$(field rcvbuf_errors "$line")"
    done
    echo "objectif : rapport 1.0000 et p99 < 50000 µs à chaque manche"
    echo "rejets noyau : datagrammes jetés par le noyau au port du serveur (tampon plein, et le filtre qui écarte l'inondeur) ;"
    echo "tampon plein : débordements de tampons de réception UDP de toute la machine pendant la manche"
    kill -INT "$flood_pid"
    wait "$flood_pid" || true
    grep -c 'trop de messages' "$work/serveur_chat_flood.err" | sed 's/^/avis « trop de messages » (un par rafale) : /'
fi

# 4. 18.1: one answer per datagram, against the bare relay's one forward.
BIEN_RECU_ROUNDS=${BIEN_RECU_ROUNDS:-3}
# 20,000 answers: about 0.5 s of the server's CPU (25 us each), which /proc
# counts in 10 ms ticks.
BIEN_RECU_MESSAGES=${BIEN_RECU_MESSAGES:-10000}
if ((BIEN_RECU_ROUNDS > 0)); then
    start serveur_chat_bien_recu "$TARGET/serveur_chat" --port 0 --bien-recu
    bien_recu_pid=$last_pid bien_recu_port=$port
    echo
    echo "4. --bien-recu : $BIEN_RECU_ROUNDS manches alternées, 2 clients x $BIEN_RECU_MESSAGES messages à $RATIO_RATE msg/s (relais_nu : chaque message à l'autre client)"
    header
    bien_recu_cpu=() relay2_cpu=()
    for _ in $(seq "$BIEN_RECU_ROUNDS"); do
        for who in bien_recu relais_nu; do
            if [[ $who == bien_recu ]]; then
                args=(--serveur "127.0.0.1:$bien_recu_port" --pid "$bien_recu_pid" --mode bien-recu)
            else
                args=(--serveur "127.0.0.1:$relay_port" --pid "$relay_pid")
            fi
            line=$("$TARGET/examples/charge_chat" "${args[@]}" --clients 2 \
                --messages "$BIEN_RECU_MESSAGES" --rate "$RATIO_RATE" $CHARGE_ARGS | grep '^RESULT')
            printf '%-13s %7s %8s %11s %8s %9s %9s %9s\n' "$who" "$RATIO_RATE" "$(field achieved_rate "$line")" \
                "$(field deliveries_per_s "$line")" "$(field lost "$line")" "$(field p50_us "$line")" \
                "$(field p99_us "$line")" "$(field cpu_us_per_delivery "$line")"
            if [[ $who == bien_recu ]]; then
                bien_recu_cpu+=("$(field cpu_us_per_delivery "$line")")
            else
                relay2_cpu+=("$(field cpu_us_per_delivery "$line")")
            fi
        done
    done
    a=$(printf '%s\n' "${bien_recu_cpu[@]}" | median)
    b=$(printf '%s\n' "${relay2_cpu[@]}" | median)
    awk -v a="$a" -v b="$b" 'BEGIN {
        printf "médianes : serveur_chat --bien-recu %.3f µs/réponse, relais_nu %.3f µs/remise, rapport %.3f\n", a, b, a / b }'
    echo "(p50/p99 à 0 pour --bien-recu : la réponse ne porte pas l'heure d'envoi)"
    kill -INT "$bien_recu_pid"
    wait "$bien_recu_pid" || true
fi
echo

kill -INT "$chat_pid"
status=0
wait "$chat_pid" || status=$?
logged=$(grep -c '^recv_data : ' "$work/serveur_chat.out" || true)
echo "serveur_chat : sortie $status après Ctrl-C, $logged lignes recv_data journalisées pour $sent_total datagrammes envoyés"
grep -E 'perdue|limité' "$work/serveur_chat.err" || true
if [[ -n ${RATES// /} ]]; then
    echo "débit sans perte le plus haut : serveur_chat $best_chat msg/s, relais_nu $best_relay msg/s"
fi
