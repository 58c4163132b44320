#!/usr/bin/env python3
"""Write a random-weight GGUF of architecture 'bitnet' (BitNet b1.58 shapes, ternary TQ2_0
projections), copying the tokenizer from a donor GGUF so llama.cpp and Tern both load it.

Used by scripts/setup.sh for the bitnet-tiny parity model (its bytes must match the sha256 the
reference logits in Tests/Fixtures/reference were made on: keep the seed and the write order)
and for side-by-side speed runs against llama.cpp.

Usage: make_synth_bitnet.py DONOR.gguf OUT.gguf [--layers N] [--embd E] [--ff F] [--heads H]
       [--kv-heads K] [--wtype TQ2_0|TQ1_0]
"""
import sys, argparse, numpy as np, gguf
from gguf import GGMLQuantizationType as Q

p = argparse.ArgumentParser()
p.add_argument("donor"); p.add_argument("out")
p.add_argument("--layers", type=int, default=30)
p.add_argument("--embd", type=int, default=2560)
p.add_argument("--ff", type=int, default=6912)
p.add_argument("--heads", type=int, default=20)
p.add_argument("--kv-heads", type=int, default=5)
p.add_argument("--wtype", default="TQ2_0")
a = p.parse_args()

donor = gguf.GGUFReader(a.donor)
toks = donor.fields["tokenizer.ggml.tokens"].contents()
n_vocab = len(toks)
rng = np.random.default_rng(0)
w = gguf.GGUFWriter(a.out, "bitnet")
w.add_name("synthetic bitnet b1.58 shape")
w.add_context_length(4096); w.add_embedding_length(a.embd); w.add_block_count(a.layers)
w.add_feed_forward_length(a.ff); w.add_head_count(a.heads); w.add_head_count_kv(a.kv_heads)
w.add_rope_freq_base(500000.0); w.add_layer_norm_rms_eps(1e-5); w.add_vocab_size(n_vocab)
w.add_rope_dimension_count(a.embd // a.heads)
w.add_tokenizer_model(donor.fields["tokenizer.ggml.model"].contents())
w.add_tokenizer_pre(donor.fields["tokenizer.ggml.pre"].contents())
w.add_token_list(toks)
w.add_token_types(donor.fields["tokenizer.ggml.token_type"].contents())
w.add_token_merges(donor.fields["tokenizer.ggml.merges"].contents())
w.add_bos_token_id(donor.fields["tokenizer.ggml.bos_token_id"].contents())
w.add_eos_token_id(donor.fields["tokenizer.ggml.eos_token_id"].contents())
w.add_add_bos_token(False)
qt = getattr(Q, a.wtype)

def ternary(rows, cols):
    t = rng.integers(-1, 2, size=(rows, cols), dtype=np.int8).astype(np.float32) * 0.02
    return gguf.quants.quantize(t, qt)

def add(name, arr, raw_dtype=None):
    if raw_dtype is None:
        w.add_tensor(name, arr)
    else:
        w.add_tensor(name, arr, raw_dtype=raw_dtype)

E, F, kv = a.embd, a.ff, a.embd // a.heads * a.kv_heads
add("token_embd.weight", (rng.standard_normal((n_vocab, E), dtype=np.float32) * 0.02).astype(np.float16))
add("output_norm.weight", np.ones(E, dtype=np.float32))
for i in range(a.layers):
    b = f"blk.{i}."
    add(b + "attn_norm.weight", np.ones(E, dtype=np.float32))
    add(b + "attn_sub_norm.weight", np.ones(E, dtype=np.float32))
    add(b + "ffn_norm.weight", np.ones(E, dtype=np.float32))
    add(b + "ffn_sub_norm.weight", np.ones(F, dtype=np.float32))
    for n, (r, c) in {"attn_q": (E, E), "attn_k": (kv, E), "attn_v": (kv, E), "attn_output": (E, E),
                      "ffn_gate": (F, E), "ffn_up": (F, E), "ffn_down": (E, F)}.items():
        add(b + n + ".weight", ternary(r, c), raw_dtype=qt)
    print("layer", i, file=sys.stderr, flush=True)
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
