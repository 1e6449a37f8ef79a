#!/usr/bin/env bash
# Start a local Neo4j 5.26 Community server for tests and development; return once Bolt answers.
#
# First run: fetches the jars from Maven Central (pom.xml beside this script) into .cache/neo4j/lib
# and compiles Launcher.java; later runs reuse them. Data lives in .cache/neo4j/home (git-ignored).
# Safe to run again: an already running server is left alone.
#
# Environment: NEO4J_URI (default bolt://127.0.0.1:7687; its port is used, the server always binds
# 127.0.0.1), NEO4J_PAGECACHE (default 512m; 4g for the 1M-delivery benchmark), NEO4J_HEAP (JVM -Xms and -Xmx,
# default 4g), NEO4J_JAVA_OPTS (JVM options, default -XX:+UseG1GC), NEO4J_CONF (optional
# neo4j.conf with further settings), NEO4J_START_TIMEOUT (seconds, default 120), JAVA_HOME; NEO4J_HOME_DIR (data,
# default .cache/neo4j/home) and NEO4J_RUN_DIR (pid and log files, default .cache/neo4j) run a second server.
# The server runs with authentication OFF and without TLS, on the loopback address only.
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

case "$HOST" in
    127.0.0.1|localhost|"[::1]") ;;
    *) echo "start.sh: NEO4J_URI=$URI names host $HOST; this script only starts a server on 127.0.0.1" >&2; exit 2 ;;
esac
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
JAVAC="${JAVA_HOME:+$JAVA_HOME/bin/}javac"
command -v "$JAVA" >/dev/null || { echo "start.sh: java not found (Java 17 or 21 is needed)" >&2; exit 3; }

if pid="$(running_pid)"; then
    if bolt_answers; then echo "neo4j already running (pid $pid) at bolt://$HOST:$PORT"; exit 0; fi
    echo "start.sh: neo4j process $pid is alive but Bolt does not answer on $HOST:$PORT; stop it with stop.sh" >&2
    exit 1
fi
if bolt_answers; then
    echo "start.sh: something else already answers Bolt on $HOST:$PORT; using it as is"
    exit 0
fi

mkdir -p "$CACHE"
stamp="$(sha1sum "$HERE/pom.xml" | cut -c1-40)"
if [[ "$(cat "$LIB/.complete" 2>/dev/null)" != "$stamp" ]]; then
    command -v mvn >/dev/null || { echo "start.sh: mvn not found (Maven fetches the Neo4j jars)" >&2; exit 3; }
    echo "fetching Neo4j jars from Maven Central into $LIB (first run only; about 210 MB, a few minutes) ..."
    t0=$(date +%s)
    rm -rf "$LIB.tmp"
    if ! mvn -B -Dstyle.color=never -f "$HERE/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
            -DoutputDirectory="$LIB.tmp" > "$CACHE/mvn.log" 2>&1; then
        echo "start.sh: Maven could not fetch the Neo4j jars; last lines of $CACHE/mvn.log:" >&2
        tail -n 40 "$CACHE/mvn.log" >&2
        exit 1
    fi
    rm -rf "$LIB" && mv "$LIB.tmp" "$LIB" && echo "$stamp" > "$LIB/.complete"
    echo "fetched $(ls "$LIB"/*.jar | wc -l) jars, $(du -sh "$LIB" | cut -f1), in $(( $(date +%s) - t0 )) s"
    rm -rf "$CLASSES"
fi
if [[ ! -f "$CLASSES/Launcher.class" || "$HERE/Launcher.java" -nt "$CLASSES/Launcher.class" ]]; then
    mkdir -p "$CLASSES"
    "$JAVAC" -nowarn -cp "$LIB/*" -d "$CLASSES" "$HERE/Launcher.java"
fi

OPENS=(--add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
       --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED
       --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
       --add-exports=java.base/sun.nio.ch=ALL-UNNAMED)
ver="$("$JAVA" -version 2>&1 | head -1)"
[[ "$ver" =~ \"(1[0-9]|[2-9][0-9]) && ! "$ver" =~ \"17 ]] && OPENS+=(--enable-native-access=ALL-UNNAMED)

mkdir -p "$HOME_DIR" "$RUN_DIR"
echo "starting neo4j on bolt://$HOST:$PORT (data in $HOME_DIR, log $LOG_FILE) ..."
t0=$(date +%s%N)
# setsid: the server outlives the shell that started it; the launcher is the pid recorded
setsid "$JAVA" -Xms"${NEO4J_HEAP:-4g}" -Xmx"${NEO4J_HEAP:-4g}" ${NEO4J_JAVA_OPTS:--XX:+UseG1GC} -XX:+ExitOnOutOfMemoryError "${OPENS[@]}" \
    -cp "$CLASSES:$LIB/*" Launcher "$HOME_DIR" "$PORT" "${NEO4J_PAGECACHE:-512m}" "${NEO4J_CONF:-}" \
    > "$LOG_FILE" 2>&1 < /dev/null &
echo $! > "$PID_FILE"
pid=$!

deadline=$(( $(date +%s) + ${NEO4J_START_TIMEOUT:-120} ))
while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "start.sh: neo4j exited during start-up; last lines of $LOG_FILE:" >&2
        tail -n 40 "$LOG_FILE" >&2; rm -f "$PID_FILE"; exit 1
    fi
    if grep -q '^READY' "$LOG_FILE" 2>/dev/null && bolt_answers; then break; fi
    if (( $(date +%s) >= deadline )); then
        echo "start.sh: Bolt did not answer on $HOST:$PORT within ${NEO4J_START_TIMEOUT:-120} s; last lines of $LOG_FILE:" >&2
        tail -n 40 "$LOG_FILE" >&2
        exit 1
    fi
    sleep 0.5
done
echo "neo4j ready at bolt://$HOST:$PORT (pid $pid) in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
