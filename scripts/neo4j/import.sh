#!/usr/bin/env bash
# Import `foodtrace export neo4j-import DIR` into the local Neo4j server's database, replacing what it holds:
# stop the server, run `neo4j-admin database import full` (the offline bulk importer of Community Edition,
# from the jars start.sh fetched) into its home, start it again, and create the constraints and indexes the
# driver path creates (graph.neo4j.Neo4jStore.ensure_schema), waiting until they are online.
#
# Usage: bash scripts/neo4j/import.sh DIR
# Environment: as start.sh (NEO4J_URI, NEO4J_HEAP, NEO4J_PAGECACHE, NEO4J_HOME_DIR ...), plus NEO4J_IMPORT_HEAP
# (the importer's JVM -Xmx, default 2g) and NEO4J_IMPORT_OPTS (further importer options, e.g. --threads=2).
# Prints the wall time of each step; the importer's report goes to DIR/import.report.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/common.sh"

DIR="${1:?usage: import.sh DIR (a folder written by foodtrace export neo4j-import)}"
DIR="$(cd "$DIR" && pwd)"
[[ -f "$DIR/import.args" ]] || { echo "import.sh: $DIR/import.args not found: run foodtrace export neo4j-import $DIR first" >&2; exit 2; }
[[ -f "$LIB/.complete" ]] || { echo "import.sh: no Neo4j jars in $LIB yet: run start.sh once first" >&2; exit 3; }
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
t0=$(date +%s%N)
bash "$HERE/stop.sh"

mapfile -t ARGS < "$DIR/import.args"
conf="$(mktemp -d)"
trap 'rm -rf "$conf"' EXIT
: > "$conf/neo4j.conf"   # defaults: the data directory is $NEO4J_HOME/data, as the launcher's
mkdir -p "$HOME_DIR"
t1=$(date +%s%N)
# shellcheck disable=SC2086
NEO4J_HOME="$HOME_DIR" NEO4J_CONF="$conf" "$JAVA" -Xmx"${NEO4J_IMPORT_HEAP:-2g}" -XX:+UseG1GC \
    --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
    --add-opens=java.base/java.lang=ALL-UNNAMED --add-exports=java.base/sun.nio.ch=ALL-UNNAMED \
    -cp "$LIB/*" org.neo4j.cli.AdminTool database import full "${ARGS[@]}" \
    --overwrite-destination=true --report-file="$DIR/import.report" ${NEO4J_IMPORT_OPTS:-} neo4j
echo "import: $(ms "$t1") ms"

t2=$(date +%s%N)
bash "$HERE/start.sh"
echo "start: $(ms "$t2") ms"
t3=$(date +%s%N)
(cd "$ROOT" && "$PY" -c 'import sys; from graph.store import open_store
with open_store(sys.argv[1]) as s:
    s.ensure_schema()' "$URI")
echo "constraints and indexes online: $(ms "$t3") ms"
echo "import.sh: $(ms "$t0") ms in all"
