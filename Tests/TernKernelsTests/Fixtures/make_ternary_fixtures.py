#!/usr/bin/env python3
"""Writes the TQ1_0 / TQ2_0 fixtures that TernaryEncodingTests compares against.

Run once with gguf==0.19.0 (pip install gguf==0.19.0); the outputs are committed:
  ternary_input.f32  4 x 512 little-endian float32 (the fixed input)
  ternary_tq1_0.bin  gguf.quants.quantize(input, TQ1_0)
  ternary_tq2_0.bin  gguf.quants.quantize(input, TQ2_0)
"""
import pathlib

import numpy as np
from gguf import GGMLQuantizationType
from gguf.quants import quantize

here = pathlib.Path(__file__).parent
rng = np.random.default_rng(20241125)
x = rng.standard_normal((4, 512)).astype(np.float32)
x[1, 256:] = 0                                            # an all-zero block (scale 0)
x[2] = np.tile(np.array([-1, -0.5, 0, 0.5, 1, 0.49, -0.51, 0.25], np.float32), 64) * 3  # ties
x[3] = 0.7 * rng.integers(-1, 2, 512).astype(np.float32)  # already ternary
(here / "ternary_input.f32").write_bytes(x.astype("<f4").tobytes())
(here / "ternary_tq1_0.bin").write_bytes(quantize(x, GGMLQuantizationType.TQ1_0).tobytes())
(here / "ternary_tq2_0.bin").write_bytes(quantize(x, GGMLQuantizationType.TQ2_0).tobytes())
