#!/usr/bin/env bash
# Starts N Tern node daemons on loopback from a mesh definition in Peers/ (default
# Peers/local-demo.json), waits until they see each other, and prints `tern mesh peers`.
#   scripts/mesh-up.sh N [MESH.json]     start N nodes (logs in DATAROOT/node-i/daemon.log)
#   scripts/mesh-up.sh --down [MESH.json] stop them (SIGTERM: each leaves the mesh gracefully)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage() { sed -n '2,5p' "$0"; exit 2; }
[ $# -ge 1 ] || usage
mode="up"; count=0
case "$1" in
    --down) mode="down" ;;
    -h|--help) usage ;;
    *[!0-9]*|"") echo "mesh-up: N must be a number" >&2; usage ;;
    *) count="$1" ;;
esac
mesh="${2:-$here/Peers/local-demo.json}"
tern="${TERN_BIN:-$here/.build/release/tern}"
[ -x "$tern" ] || { echo "mesh-up: $tern not built; run scripts/setup.sh" >&2; exit 1; }

read -r host base period root bootstrap < <(python3 - "$mesh" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
print(m["host"], m["basePort"], m.get("protocolPeriodMillis", 1000), m.get("dataRoot", ".tern-demo"),
      ",".join(m.get("bootstrap", [])) or "-")
PY
)
case "$root" in /*) ;; *) root="$here/$root" ;; esac

if [ "$mode" = "down" ]; then
    for pidfile in "$root"/node-*/daemon.pid; do
        [ -f "$pidfile" ] || continue
        kill "$(cat "$pidfile")" 2>/dev/null || true
        rm -f "$pidfile"
    done
    echo "stopped the nodes under $root"
    exit 0
fi

for ((i = 0; i < count; i++)); do
    dir="$root/node-$i"
    mkdir -p "$dir"
    args=(node start --data "$dir" --listen "$host:$((base + i))" --period-ms "$period")
    [ "$bootstrap" = "-" ] || args+=(--bootstrap "$bootstrap")
    nohup "$tern" "${args[@]}" >"$dir/daemon.log" 2>&1 &
    echo $! >"$dir/daemon.pid"
    echo "node-$i: pid $!, gossip $host:$((base + i)), data $dir"
done

# Wait (up to 20 s) until node 0 sees the others alive.
for _ in $(seq 1 40); do
    alive=$("$tern" mesh peers --data "$root/node-0" --json 2>/dev/null | grep -c '"state" : "alive"' || true)
    [ "$alive" -ge $((count - 1)) ] && break
    sleep 0.5
done
"$tern" mesh peers --data "$root/node-0"
