#!/usr/bin/env bash
# Load test of a node's OpenAI API: CLIENTS concurrent clients (the Python `openai` package,
# AsyncOpenAI, streaming chat completions of short prompts, max_tokens MAX_TOKENS) for SECONDS
# seconds, after one warm-up request that loads the model. Prints and writes as JSON (OUT):
# requests ok, failures by status (only 429 is acceptable), p50/p99 latency, p50 TTFT and
# tokens/s; exits non-zero when another failure happened or the daemon it started died.
#   scripts/bench-api.sh                      start a daemon holding the demo model, then load it
#   NODE=http://127.0.0.1:8080 MODEL=name scripts/bench-api.sh   load a running node
# Settings (environment): CLIENTS (32), SECONDS (60), MAX_TOKENS (32), TEMPERATURE (0.7),
# OUT (bench-api.json), TERN_BIN (.build/release/tern), TERN_MODELS (~/.cache/tern/models),
# API_KEY, NODE_ARGS (more `tern node start` flags for the daemon it starts: `--threads 1`).
set -euo pipefail
duration=$SECONDS                  # bash counts SECONDS up from the value it inherited (0 when unset)
[ "$duration" -ge 1 ] || duration=60
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
clients="${CLIENTS:-32}"
max_tokens="${MAX_TOKENS:-32}"
out="${OUT:-bench-api.json}"
tern="${TERN_BIN:-$here/.build/release/tern}"
node="${NODE:-}"
model="${MODEL:-smollm2}"
python3 -c "import openai" 2>/dev/null || { echo "bench-api: python3 cannot import openai (pip install openai)" >&2; exit 1; }

daemon_pid=""
node_dir=""
cleanup() {
    if [ -n "$daemon_pid" ]; then kill "$daemon_pid" 2>/dev/null || true; wait "$daemon_pid" 2>/dev/null || true; fi
    if [ -n "$node_dir" ]; then rm -rf "$node_dir"; fi
}
trap cleanup EXIT

if [ -z "$node" ]; then
    [ -x "$tern" ] || { echo "bench-api: $tern not built (swift build -c release --product tern)" >&2; exit 1; }
    demo="${TERN_MODELS:-$HOME/.cache/tern/models}/SmolLM2-135M-Instruct.Q4_1.gguf"
    [ -f "$demo" ] || { echo "bench-api: missing $demo: run scripts/setup.sh" >&2; exit 1; }
    node_dir="$(mktemp -d "${TMPDIR:-/tmp}/tern-bench-api.XXXXXX")"
    port=$((20000 + RANDOM % 20000))
    "$tern" node start --data "$node_dir" --listen "127.0.0.1:$port" --api 127.0.0.1:0 --log-level warning ${NODE_ARGS:-} \
        >"$node_dir/daemon.log" 2>&1 &
    daemon_pid=$!
    for _ in $(seq 1 240); do
        [ -f "$node_dir/api.json" ] && break
        kill -0 "$daemon_pid" 2>/dev/null || { echo "bench-api: the daemon exited:" >&2; cat "$node_dir/daemon.log" >&2; exit 1; }
        sleep 0.25
    done
    [ -f "$node_dir/api.json" ] || { echo "bench-api: no api.json after 60 s" >&2; exit 1; }
    "$tern" blob add "$demo" --name "$model" --data "$node_dir" >/dev/null
    node="$(python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); print("http://%s:%d" % (e["host"], e["port"]))' "$node_dir/api.json")"
fi
echo "bench-api: $clients clients for $duration s against $node (model $model, max_tokens $max_tokens)" >&2

python3 - "$node" "$model" "$clients" "$duration" "$max_tokens" "$out" "${API_KEY:-unused}" "${TEMPERATURE:-0.7}" <<'PY'
import asyncio, json, random, sys, time
import openai
from openai import AsyncOpenAI

node, model, clients, duration, max_tokens, out, key, temperature = sys.argv[1:9]
temperature = float(temperature)
clients, duration, max_tokens = int(clients), float(duration), int(max_tokens)
prompts = ["What is the capital of France?", "Name three colors.", "Say hello in Spanish.",
           "What is 2 + 2?", "Write a haiku about rain.", "Who wrote Hamlet?",
           "Give me a fruit that is red.", "What does a cat say?"]
ok, failed, errors = [], {}, {}
rejected = 0

def fail(status, text):
    failed[status] = failed.get(status, 0) + 1
    errors.setdefault(status, text[:300])

async def one_client(index, client, deadline):
    global rejected
    rng = random.Random(index)
    while time.monotonic() < deadline:
        start = time.monotonic()
        ttft, tokens = None, 0
        try:
            stream = await client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": rng.choice(prompts)}],
                max_tokens=max_tokens, temperature=temperature, seed=rng.randrange(1 << 31),
                stream=True, stream_options={"include_usage": True})
            async for chunk in stream:
                if chunk.usage is not None: tokens = chunk.usage.completion_tokens
                for c in chunk.choices:
                    if c.delta.content and ttft is None: ttft = time.monotonic() - start
            ok.append((time.monotonic() - start, ttft, tokens, time.monotonic()))
        except openai.APIStatusError as error:
            if error.status_code == 429:
                rejected += 1
                fail(429, str(error))
                await asyncio.sleep(float(error.response.headers.get("retry-after", "1")))
            else:
                fail(error.status_code, str(error))
        except Exception as error:  # a broken connection or stream is a failure too
            fail(type(error).__name__, repr(error))

async def main():
    client = AsyncOpenAI(base_url=node + "/v1", api_key=key, max_retries=0, timeout=300,
)
    # One request first, so that loading the model is not counted.
    await client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hi"}], max_tokens=1)
    begin = time.monotonic()
    deadline = begin + duration
    await asyncio.gather(*(one_client(i, client, deadline) for i in range(clients)))
    elapsed = time.monotonic() - begin
    await client.close()
    return elapsed

elapsed = asyncio.run(main())
def pct(values, p):
    if not values: return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]
latencies = [l for l, _, _, _ in ok]
ttfts = [t for _, t, _, _ in ok if t is not None]
tokens = sum(n for _, _, n, _ in ok)
result = {
    "node": node, "model": model, "clients": clients, "temperature": temperature, "seconds": duration, "max_tokens": max_tokens,
    "elapsed_s": round(elapsed, 2),
    "requests_ok": len(ok),
    "failed_by_status": {str(k): v for k, v in sorted(failed.items(), key=lambda kv: str(kv[0]))},
    "unacceptable_failures": sum(v for k, v in failed.items() if k != 429),
    "latency_p50_s": pct(latencies, 50), "latency_p99_s": pct(latencies, 99),
    "ttft_p50_s": pct(ttfts, 50), "ttft_p99_s": pct(ttfts, 99),
    "completion_tokens": tokens, "tokens_per_s": round(tokens / elapsed, 1) if elapsed > 0 else None,
    "requests_per_s": round(len(ok) / elapsed, 2) if elapsed > 0 else None,
    "first_errors": {str(k): v for k, v in errors.items()},
}
for key in ("latency_p50_s", "latency_p99_s", "ttft_p50_s", "ttft_p99_s"):
    if result[key] is not None: result[key] = round(result[key], 3)
with open(out, "w") as f: json.dump(result, f, indent=2)
print(json.dumps(result, indent=2))
PY
status=0
if [ -n "$daemon_pid" ] && ! kill -0 "$daemon_pid" 2>/dev/null; then
    echo "bench-api: the daemon died during the run:" >&2; tail -50 "$node_dir/daemon.log" >&2; status=1
fi
bad=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["unacceptable_failures"])' "$out")
[ "$bad" = "0" ] || { echo "bench-api: $bad requests failed with something other than 429" >&2; status=1; }
[ -z "$node_dir" ] || [ "$status" = 0 ] || cp "$node_dir/daemon.log" "${out%.json}-daemon.log"
exit $status
