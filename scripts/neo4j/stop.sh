#!/usr/bin/env bash
# Stop the local Neo4j server started by start.sh (clean shutdown; killed after 60 s). Safe to run again.
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    echo "neo4j is not running"
    exit 0
fi
kill -TERM "$pid"
for _ in $(seq 1 120); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$PID_FILE"; echo "neo4j stopped (pid $pid)"; exit 0; }
    sleep 0.5
done
echo "neo4j (pid $pid) did not stop within 60 s; killing it" >&2
kill -KILL "$pid" 2>/dev/null || true
rm -f "$PID_FILE"
