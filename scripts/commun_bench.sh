# Shared by bench_chat.sh, bench_irc.sh and bench_sockets.sh (to source,
# after setting BENCH to the script's name for its messages): a work folder
# removed at exit with every server started, a server started until its
# ready line, a free port, result fields, medians.

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# start NAME CMD... : starts a server (its stdout and stderr in
# $work/NAME.out and .err), waits for its ready line on 127.0.0.1; sets
# $port and $last_pid.
start() {
    local name=$1
    shift
    # Created here: the background job opens them only once it runs, and
    # the sed below (set -e, pipefail) must not fail on a missing file.
    : >"$work/$name.out"
    : >"$work/$name.err"
    "$@" >"$work/$name.out" 2>"$work/$name.err" &
    last_pid=$!
    pids+=("$last_pid")
    for _ in $(seq 200); do
        port=$(sed -n 's/.*en écoute sur 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/$name.err" | head -1)
        [[ -n $port ]] && return
        sleep 0.05
    done
    echo "$BENCH: $name ne démarre pas" >&2
    cat "$work/$name.err" >&2
    exit 1
}

# A free TCP port on 127.0.0.1 (for servers that have no "port 0").
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port PORT NAME: until the port accepts connections.
wait_port() {
    for _ in $(seq 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return; fi
        sleep 0.05
    done
    echo "$BENCH: $2 ne démarre pas" >&2
    cat "$work/$2.err" >&2 || true
    exit 1
}

# field KEY "LINE": the value of KEY=VALUE in a load generator's result line.
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }

# median: the middle of the numbers on stdin, one a line (the mean of the
# two middle ones for an even count).
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# median_of "X Y Z ...": the median of space-separated numbers.
median_of() { tr ' ' '\n' <<<"$1" | sed '/^$/d' | median; }
