#!/usr/bin/env bash
# The test command: the Swift Testing suite (release build: model-level tests run real
# models through the C kernels, which SwiftPM compiles without optimization in debug), then
# the NEON kernel variants cross-compiled for aarch64 and checked under qemu-aarch64.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
# The multi-process tests start real `tern` daemons: build the binary they run first.
swift build -c release --product tern
swift test -c release "$@"
bash scripts/test-neon.sh
