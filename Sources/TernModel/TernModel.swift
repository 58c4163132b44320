// TernModel: GGUF files, tokenizers, llama and bitnet forward passes, sampling, conversion.
@_exported import TernKernels
