#!/usr/bin/env python3
"""Regenerates the block-quant fixtures the BlockQuant tests compare against.

For each format: <fmt>.blocks holds random blocks (every scale / code bit pattern, with
sane f16 block scales plus edge scales: 0, negative, subnormal) and <fmt>.f32 the values
gguf-py (pip install gguf==0.19.0) dequantizes them to, little-endian float32.
q8_0-quantize.input.f32 / q8_0-quantize.blocks pin the F32 -> Q8_0 quantization.
Run from this directory: python3 make_blockquant_fixtures.py
"""
import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize, quantize

rng = np.random.default_rng(20261125)
EDGE_SCALES = np.array([0.0, -0.75, 6.1e-5 / 4, 2.5e-3, 1.0, -3.0e-4], dtype=np.float16)

# format: (block bytes, block count, byte offsets of f16 scales inside a block)
FORMATS = {
    "q8_0": (T.Q8_0, 34, 24, [0]),
    "q4_0": (T.Q4_0, 18, 24, [0]),
    "q4_1": (T.Q4_1, 20, 24, [0, 2]),
    "q4_k": (T.Q4_K, 144, 6, [0, 2]),
    "q6_k": (T.Q6_K, 210, 6, [208]),
}

for name, (qtype, size, count, scale_offsets) in FORMATS.items():
    blocks = rng.integers(0, 256, size=(count, size), dtype=np.uint8)
    for b in range(count):
        for k, off in enumerate(scale_offsets):
            if b < len(EDGE_SCALES) and k == 0:
                scale = EDGE_SCALES[b]
            else:
                scale = np.float16(rng.normal(0, 0.02))
            blocks[b, off:off + 2] = np.frombuffer(np.float16(scale).tobytes(), dtype=np.uint8)
    values = dequantize(blocks.reshape(-1), qtype).astype("<f4")
    blocks.tofile(f"{name}.blocks")
    values.tofile(f"{name}.f32")

x = rng.normal(0, 1, size=(8, 32)).astype(np.float32)
x[0] = 0.0                                              # all-zero block: d = 0
x[1] = np.linspace(-127, 127, 32) / 127 * 2.5           # spans the range exactly
x[2, :] = 0.5; x[2, 0] = 127.0                          # ties: 0.5 rounds away from zero
x[3] *= 1e4
x[4] *= 1e-6
x = x.reshape(-1).astype("<f4")
x.tofile("q8_0-quantize.input.f32")
quantize(x, T.Q8_0).reshape(-1).tofile("q8_0-quantize.blocks")
