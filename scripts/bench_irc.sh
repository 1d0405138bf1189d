#!/usr/bin/env bash
# Load test of irc_server against ngircd (issue 15), in the same run.
#
# The load generator (crates/irc_chat/examples/charge_irc.rs) registers
# CLIENTS IRC clients that all join #bench; each sends MESSAGES PRIVMSG while
# all read (each sender keeps at most WINDOW messages not yet read by the
# next client, so no server is measured dropping slow readers). It prints
# deliveries/s, p50/p99 latency and the server's CPU time per delivery
# (/proc/PID/stat utime + stime, all threads) over the message phase.
#
# Both servers run with their flood control off, the same way:
#   - irc_server --sans-anti-flood;
#   - ngircd (Debian package, /usr/sbin/ngircd) in the foreground
#     (-n -f conf) with a generated config: loopback, a free port,
#     MaxPenaltyTime = 0 (its default throttles every client to about
#     3 commands a second), no per-IP cap, no DNS/ident lookups.
# They are run alternately ROUNDS times; the medians and the ratios are
# printed (targets: deliveries/s >= 1.0x ngircd, CPU/delivery and p99
# <= 1.0x ngircd). The machine's load average is printed with them.
#
# Usage: scripts/bench_irc.sh
#        IRC_SERVER=/tmp/irc_server_old scripts/bench_irc.sh
#        ROUNDS=1 CLIENTS=50 MESSAGES=500 scripts/bench_irc.sh
set -euo pipefail
cd "$(dirname "$0")/.."

CLIENTS=${CLIENTS:-100}
MESSAGES=${MESSAGES:-1000}
WINDOW=${WINDOW:-32}
ROUNDS=${ROUNDS:-3}
NGIRCD=${NGIRCD:-/usr/sbin/ngircd}
TARGET=${CARGO_TARGET_DIR:-target}/release
# Another build of irc_server to measure (an older commit's, say).
IRC_SERVER=${IRC_SERVER:-$TARGET/irc_server}

if [[ ! -x $NGIRCD ]]; then
    echo "bench_irc: $NGIRCD absent (apt-get install ngircd)" >&2
    exit 1
fi
cargo build --release --quiet -p irc_chat --bin irc_server --example charge_irc

BENCH=bench_irc
source "$(dirname "$0")/commun_bench.sh"

start irc_server "$IRC_SERVER" --port 0 --sans-anti-flood --connexions-max 4096
irc_pid=$last_pid irc_port=$port

ngircd_port=$(free_port)
cat >"$work/ngircd.conf" <<EOF
[Global]
Name = bench.ngircd
Info = bench_irc.sh
Listen = 127.0.0.1
Ports = $ngircd_port
MotdPhrase = bench
PidFile = $work/ngircd.pid
[Limits]
MaxConnections = 0
MaxConnectionsIP = 0
MaxJoins = 0
MaxPenaltyTime = 0
PingTimeout = 600
PongTimeout = 600
[Options]
DNS = no
Ident = no
PAM = no
EOF
"$NGIRCD" -n -f "$work/ngircd.conf" >"$work/ngircd.out" 2>"$work/ngircd.err" &
pids+=($!)
ngircd_pid=$!
wait_port "$ngircd_port" ngircd

row() { printf '%-10s %12s %9s %9s %10s %8s\n' "$@"; }

# run NAME PORT PID: one load run; prints a row, appends to NAME's lists.
declare -A rate p99 cpu
run() {
    local name=$1 port=$2 pid=$3 line
    line=$("$TARGET/examples/charge_irc" "127.0.0.1:$port" --pid "$pid" \
        --clients "$CLIENTS" --messages "$MESSAGES" --fenetre "$WINDOW") || {
        echo "bench_irc: $name : $line" >&2
    }
    row "$name" "$(field deliveries_per_s "$line")" "$(field p50_us "$line")" \
        "$(field p99_us "$line")" "$(field cpu_us_per_delivery "$line")" "$(field lost "$line")"
    rate[$name]+="$(field deliveries_per_s "$line") "
    p99[$name]+="$(field p99_us "$line") "
    cpu[$name]+="$(field cpu_us_per_delivery "$line") "
}

echo "bench_irc: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cœurs, $("$NGIRCD" --version | head -1 | cut -d- -f1)"
echo "$CLIENTS clients dans #bench x $MESSAGES messages (remises = messages x $((CLIENTS - 1))), fenêtre $WINDOW, $ROUNDS manches alternées"
echo "charge avant : $(uptime)"
row programme "remises/s" "p50 µs" "p99 µs" "CPU µs/r" perdues
for _ in $(seq "$ROUNDS"); do
    run irc_server "$irc_port" "$irc_pid"
    run ngircd "$ngircd_port" "$ngircd_pid"
done
echo "charge après : $(uptime)"
r_ours=$(median_of "${rate[irc_server]}") r_ng=$(median_of "${rate[ngircd]}")
p_ours=$(median_of "${p99[irc_server]}") p_ng=$(median_of "${p99[ngircd]}")
c_ours=$(median_of "${cpu[irc_server]}") c_ng=$(median_of "${cpu[ngircd]}")
echo "médianes : irc_server $r_ours remises/s, p99 $p_ours µs, $c_ours µs CPU/remise ; ngircd $r_ng remises/s, p99 $p_ng µs, $c_ng µs CPU/remise"
awk -v a="$r_ours" -v b="$r_ng" -v c="$p_ours" -v d="$p_ng" -v e="$c_ours" -v f="$c_ng" 'BEGIN {
    printf "rapports irc_server/ngircd : remises/s %.2fx (objectif >= 1.0), p99 %.2fx (objectif <= 1.0), CPU/remise %.2fx (objectif <= 1.0)\n", a / b, c / d, e / f }'
