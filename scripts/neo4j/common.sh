# Shared settings of start.sh and stop.sh (sourced, not run).
# NEO4J_URI (default bolt://127.0.0.1:7687) decides the Bolt port of the local server.
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="${NEO4J_CACHE:-$ROOT/.cache/neo4j}"          # git-ignored (/.cache/)
LIB="$CACHE/lib"                                    # jars from Maven Central
CLASSES="$CACHE/classes"                            # the compiled launcher
HOME_DIR="${NEO4J_HOME_DIR:-$CACHE/home}"           # databases, transaction logs, debug.log
RUN_DIR="${NEO4J_RUN_DIR:-$CACHE}"                 # the pid and log files (a second server: its own)
PID_FILE="$RUN_DIR/neo4j.pid"
LOG_FILE="$RUN_DIR/neo4j.log"
URI="${NEO4J_URI:-bolt://127.0.0.1:7687}"
# host and port from the URI: scheme://[user[:pass]@]host[:port][/...][?...]
_hp="${URI#*://}"; _hp="${_hp##*@}"; _hp="${_hp%%/*}"; _hp="${_hp%%\?*}"
HOST="${_hp%%:*}"
if [[ "$_hp" == *:* ]]; then PORT="${_hp##*:}"; else PORT=7687; fi
if [[ -x "$ROOT/.venv/bin/python" ]]; then PY="$ROOT/.venv/bin/python"; else PY="$(command -v python3)"; fi

running_pid() {
    # the pid of our server if it is alive, else nothing
    [[ -f "$PID_FILE" ]] || return 1
    local pid; pid="$(cat "$PID_FILE" 2>/dev/null)"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && grep -q Launcher "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
}

bolt_answers() {
    # true when something on HOST:PORT completes a Bolt 4/5 handshake
    "$PY" - "$HOST" "$PORT" <<'PYEOF'
import socket, sys
try:
    with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2) as s:
        s.settimeout(5)
        # magic, then four version proposals: 5.8 down to 5.0, 4.4 down to 4.2, none, none
        s.sendall(bytes.fromhex("6060B017" "00080805" "00020404" "00000000" "00000000"))
        reply = b""
        while len(reply) < 4:
            chunk = s.recv(4 - len(reply))
            if not chunk:
                break
            reply += chunk
    sys.exit(0 if len(reply) == 4 and reply != b"\0\0\0\0" else 1)
except OSError:
    sys.exit(1)
PYEOF
}
