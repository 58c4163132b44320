#!/usr/bin/env bash
# Cross-compiles the C kernel engine for aarch64 and runs its native checks (every NEON /
# dotprod variant against the scalar reference) under qemu-aarch64.
# Needs gcc-aarch64-linux-gnu and qemu-user (scripts/setup.sh installs both).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cc="${AARCH64_CC:-aarch64-linux-gnu-gcc}"
qemu="${QEMU_AARCH64:-qemu-aarch64}"
for tool in "$cc" "$qemu"; do
    command -v "$tool" >/dev/null || { echo "test-neon: '$tool' not found; run scripts/setup.sh" >&2; exit 1; }
done
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
"$cc" -std=gnu11 -O2 -march=armv8.2-a+dotprod -static -pthread \
    -I "$here/Sources/CTernary/include" \
    "$here"/Sources/CTernary/*.c "$here"/Tests/NativeKernelChecks/*.c \
    -lm -o "$out/native-kernel-checks"
# cortex-a76 has NEON and dotprod: both paths run.
"$qemu" -cpu cortex-a76 "$out/native-kernel-checks"
