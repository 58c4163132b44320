import TernKernels

/// The ternary storage `tern convert --ternary` writes for the block projections.
public enum TernaryFormat: String, Sendable, CaseIterable {
    /// The best format that loads here: TQ2_0 when every projection row is a multiple of
    /// 256 (then llama.cpp loads the file too), else I2_S, which fits any row length.
    case native
    /// ggml TQ2_0: 2.06 bits per weight, rows multiple of 256; llama.cpp loads it.
    case tq2_0
    /// ggml TQ1_0: 1.69 bits per weight, rows multiple of 256; llama.cpp loads it.
    case tq1_0
    /// bitnet.cpp I2_S: 2 bits per weight and one fp32 scale per tensor, any row length.
    case i2_s

    /// The encoding for projections whose rows are `rowLengths` long.
    public func encoding(forRowLengths rowLengths: [Int]) -> TernaryEncoding {
        switch self {
        case .native: rowLengths.allSatisfy { $0 % 256 == 0 } ? .tq2_0 : .i2s
        case .tq2_0: .tq2_0
        case .tq1_0: .tq1_0
        case .i2_s: .i2s
        }
    }
}

extension TernaryEncoding {
    /// The GGUF tensor type that stores this encoding.
    var tensorType: GGUFTensorType {
        switch self {
        case .tq2_0: .tq2_0
        case .tq1_0: .tq1_0
        case .i2s: .i2s
        }
    }

    /// llama.cpp's `general.file_type` for a model whose projections use this encoding
    /// (LLAMA_FTYPE_MOSTLY_TQ1_0 / TQ2_0); nil where llama.cpp has none.
    var llamaFileType: UInt32? {
        switch self {
        case .tq1_0: 36
        case .tq2_0: 37
        case .i2s: nil
        }
    }
}
