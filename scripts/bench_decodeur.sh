#!/usr/bin/env bash
# Benchmark of `decodeur_trame pcap` against `tcpdump -nn -v -r` and
# `tshark -V -r`, on the same deterministic capture, in one run.
#
#   scripts/bench_decodeur.sh [FRAMES]     (default 500000)
#
# Targets (issues 2 and 10): >= 4x faster than tcpdump -nn -v, >= 40x
# faster than tshark -V, peak memory < 16 MB whatever the file's size, all
# with the lab's default output; --details >= 2x faster than tcpdump -nn -v.
# One more line, without a target: the decoder against `cat` piping the
# same text through a pipe, the floor of producing that text.
set -euo pipefail

frames=${1:-500000}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pcap=$work/bench.pcap
bin=$root/target/release/decodeur_trame

echo "== compilation (release)"
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p decodeur_trame

echo "== capture de $frames trames (TCP, UDP, ICMP, ARP, IPv6, VLAN ; graine fixe)"
"$bin" generer "$pcap" --nombre "$frames"
ls -l "$pcap" | awk '{printf "   %s octets\n", $5}'

# Wall-clock seconds of a command, stdout to /dev/null; the best of $2 runs.
best_of() {
    local runs=$1
    shift
    local best=
    for _ in $(seq "$runs"); do
        local start end t
        start=$(date +%s.%N)
        "$@" > /dev/null 2>&1
        end=$(date +%s.%N)
        t=$(awk "BEGIN { print $end - $start }")
        if [ -z "$best" ] || awk "BEGIN { exit !($t < $best) }"; then
            best=$t
        fi
    done
    printf '%.3f' "$best"
}

# Peak resident memory (KiB) of a command.
peak_kib() {
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -f '%M' "$@" 2>&1 > /dev/null | tail -1
    else
        # Fallback: sample /proc while it runs.
        "$@" > /dev/null &
        local pid=$! peak=0 now
        while kill -0 "$pid" 2> /dev/null; do
            now=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2> /dev/null || echo 0)
            [ "${now:-0}" -gt "$peak" ] && peak=$now
            sleep 0.01
        done
        wait "$pid"
        echo "$peak"
    fi
}

echo "== mesures (meilleur de 3 ; tshark : 1 passage)"
ours=$(best_of 3 "$bin" pcap "$pcap")
echo "   decodeur_trame pcap : ${ours} s"
ours_kib=$(peak_kib "$bin" pcap "$pcap")
lines=$("$bin" pcap "$pcap" | wc -l)
echo "   ($lines lignes de texte, mémoire max ${ours_kib} Kio)"
details=$(best_of 3 "$bin" pcap --details "$pcap")
echo "   decodeur_trame pcap --details : ${details} s"
# The floor: the same text, already made, through a pipe.
"$bin" pcap "$pcap" > "$work/texte"
piped=$(best_of 3 sh -c "\"\$0\" pcap \"\$1\" | cat > /dev/null" "$bin" "$pcap")
floor=$(best_of 3 sh -c "cat \"\$0\" | cat > /dev/null" "$work/texte")
echo "   decodeur_trame pcap | cat : ${piped} s ; cat texte | cat : ${floor} s"

status=0
if command -v tcpdump > /dev/null; then
    td=$(best_of 3 tcpdump -nn -v -r "$pcap")
    echo "   tcpdump -nn -v -r   : ${td} s"
else
    td=
    echo "   tcpdump absent : comparaison sautée"
fi
if command -v tshark > /dev/null; then
    ts=$(best_of 1 tshark -V -r "$pcap")
    echo "   tshark -V -r        : ${ts} s"
else
    ts=
    echo "   tshark absent : comparaison sautée"
fi

echo "== résultats"
check() { # name ratio target
    local verdict=OK
    if awk "BEGIN { exit !($2 < $3) }"; then
        verdict="EN DESSOUS DE L'OBJECTIF"
        status=1
    fi
    printf '   %-28s %8.1fx  (objectif >= %sx) %s\n' "$1" "$2" "$3" "$verdict"
}
[ -n "$td" ] && check "plus rapide que tcpdump -v" "$(awk "BEGIN { print $td / $ours }")" 4
[ -n "$ts" ] && check "plus rapide que tshark -V" "$(awk "BEGIN { print $ts / $ours }")" 40
[ -n "$td" ] && check "--details vs tcpdump -v" "$(awk "BEGIN { print $td / $details }")" 2
printf '   %-28s %8.1fx  (plancher : le même texte par cat, sans objectif)\n' \
    "temps / cat du texte" "$(awk "BEGIN { print $piped / $floor }")"
mem_verdict=OK
if [ "$ours_kib" -ge 16384 ]; then
    mem_verdict="AU-DESSUS DE L'OBJECTIF"
    status=1
fi
printf '   %-28s %8s Kio (objectif < 16384 Kio) %s\n' "mémoire max" "$ours_kib" "$mem_verdict"
exit $status
