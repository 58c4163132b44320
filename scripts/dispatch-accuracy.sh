#!/usr/bin/env bash
# Measures what distributing a fine-tune costs in accuracy: the demo model is fine-tuned on
# Tests/Fixtures/instructions once on this node (`tern finetune`) and once over a loopback
# mesh of three daemons (`tern finetune dispatch`, two workers) with the same total tokens,
# and both adapters are scored with `tern eval` on the held-out test set.
#   scripts/dispatch-accuracy.sh [--skip-single] [-- DISPATCH FLAGS…]
# Environment: ROUNDS (4), INNER_STEPS (15), WORKERS (2), BATCH (4), LR (5e-4), OUT (a temp
# directory: adapters, daemon logs, results.json). Extra flags after `--` go to dispatch
# (e.g. -- --factors both --outer-lr 1 --outer-momentum 0). Takes about 15 min on 2 cores.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tern="${TERN_BIN:-$here/.build/release/tern}"
model="${TERN_MODELS:-$HOME/.cache/tern/models}/SmolLM2-135M-Instruct.Q4_1.gguf"
fixtures="$here/Tests/Fixtures/instructions"
rounds="${ROUNDS:-4}" inner="${INNER_STEPS:-15}" workers="${WORKERS:-2}" batch="${BATCH:-4}" lr="${LR:-5e-4}"
out="${OUT:-$(mktemp -d -t tern-dispatch-accuracy-XXXX)}"
skip_single=0
while [ $# -gt 0 ]; do
    case "$1" in
        --skip-single) skip_single=1; shift ;;
        --) shift; break ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        *) echo "dispatch-accuracy: unknown option '$1' (try --help)" >&2; exit 2 ;;
    esac
done
[ -x "$tern" ] || { echo "dispatch-accuracy: $tern not built; run scripts/setup.sh" >&2; exit 1; }
[ -f "$model" ] || { echo "dispatch-accuracy: $model missing; run scripts/setup.sh" >&2; exit 1; }
mkdir -p "$out"
echo "==> adapters, daemon logs and results.json go to $out"
common=(--format chat --rank 8 --alpha 16 --modules attn_q,attn_k,attn_v,attn_o --ctx 128 --batch "$batch" --lr "$lr")
steps=$((rounds * inner * workers))

score() { # adapter → "correct total"
    "$tern" eval "$model" --data "$fixtures/test.jsonl" --lora "$1" --json 2>"$1.eval.log" \
        | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["overall"]["correct"], r["overall"]["examples"])'
}

if [ "$skip_single" = 0 ]; then
    echo "==> one node: $steps steps of $batch sequences"
    "$tern" finetune "$model" --data "$fixtures/train.jsonl" --out "$out/single.gguf" "${common[@]}" \
        --steps "$steps" --val-split 0 --json >"$out/single.json"
    read -r single_correct total < <(score "$out/single.gguf")
    echo "    test: $single_correct/$total"
fi

echo "==> three daemons on loopback, one kernel thread each"
base=$((20000 + RANDOM % 20000))
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT
for i in 0 1 2; do
    mkdir -p "$out/node-$i"
    "$tern" node start --data "$out/node-$i" --listen "127.0.0.1:$((base + i))" --bootstrap "127.0.0.1:$base" \
        --period-ms 500 --threads 1 --log-level warning >"$out/node-$i/daemon.log" 2>&1 &
    pids+=($!)
done
deadline=$((SECONDS + 120))
until [ "$("$tern" mesh peers --data "$out/node-0" --json 2>/dev/null | grep -c '"state" : "alive"' || true)" -ge 2 ]; do
    [ $SECONDS -lt $deadline ] || { echo "dispatch-accuracy: the mesh did not form in 120 s (logs in $out)" >&2; exit 1; }
    sleep 0.5
done

echo "==> dispatch: $workers workers × $rounds rounds × $inner inner steps $*"
"$tern" finetune dispatch "$model" --data "$fixtures/train.jsonl" --out "$out/dispatch.gguf" "${common[@]}" \
    --workers "$workers" --rounds "$rounds" --inner-steps "$inner" --verify-rate 0 --wait --json \
    --node-data "$out/node-0" "$@" >"$out/dispatch.json"
read -r dispatch_correct total < <(score "$out/dispatch.gguf")
echo "    test: $dispatch_correct/$total"

python3 - "$out" "${single_correct:-}" "$dispatch_correct" "$total" <<'PY'
import json, sys
out, single, dispatched, total = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
status = json.load(open(f"{out}/dispatch.json"))
result = {"dispatch_correct": dispatched, "total": total,
          "dispatch_pct": round(100 * dispatched / total, 1),
          "round_losses": [round(r["meanLoss"], 3) for r in status.get("completed", [])]}
if single:
    result["single_correct"] = int(single)
    result["single_pct"] = round(100 * int(single) / total, 1)
    result["gap_points"] = round(result["single_pct"] - result["dispatch_pct"], 1)
json.dump(result, open(f"{out}/results.json", "w"), indent=2)
print(json.dumps(result))
PY
