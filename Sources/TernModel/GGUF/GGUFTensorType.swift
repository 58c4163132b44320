/// The ggml tensor types Tern can read, with their on-disk block geometry.
/// Ids are ggml's (`enum ggml_type`); `i2s` (36) is bitnet.cpp's.
public enum GGUFTensorType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case f32 = 0
    case f16 = 1
    case q4_0 = 2
    case q4_1 = 3
    case q8_0 = 8
    case q4_K = 12
    case q6_K = 14
    case bf16 = 30
    case tq1_0 = 34
    case tq2_0 = 35
    case i2s = 36

    public var description: String {
        switch self {
        case .f32: "F32"
        case .f16: "F16"
        case .q4_0: "Q4_0"
        case .q4_1: "Q4_1"
        case .q8_0: "Q8_0"
        case .q4_K: "Q4_K"
        case .q6_K: "Q6_K"
        case .bf16: "BF16"
        case .tq1_0: "TQ1_0"
        case .tq2_0: "TQ2_0"
        case .i2s: "I2_S"
        }
    }

    /// Values per block: a row's length must be a multiple of this.
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: 1
        case .q4_0, .q4_1, .q8_0: 32
        case .q4_K, .q6_K, .tq1_0, .tq2_0: 256
        // I2_S packs 4 values per byte; ggml declares a block of 1 and patches the size.
        case .i2s: 4
        }
    }

    /// Bytes per block (for I2_S: per group of 4 values, before the trailing scale).
    public var blockBytes: Int {
        switch self {
        case .f32: 4
        case .f16, .bf16: 2
        case .q4_0: 18        // fp16 d + 16 bytes of nibbles
        case .q4_1: 20        // fp16 d, fp16 m + 16 bytes of nibbles
        case .q8_0: 34        // fp16 d + 32 int8
        case .q4_K: 144       // fp16 d, fp16 dmin, 12 scale bytes, 128 nibble bytes
        case .q6_K: 210       // 128 low bits, 64 high bits, 16 int8 scales, fp16 d
        case .tq1_0: 54       // 48 base-3 bytes, 4 extra bytes, fp16 d
        case .tq2_0: 66       // 64 bytes of 2-bit codes, fp16 d
        case .i2s: 1
        }
    }

    /// Size in bytes of a tensor of `elements` values, or nil when `elements` is not a
    /// whole number of blocks. I2_S stores 2 bits per value and then one fp32 scale in a
    /// 32-byte trailer (bitnet.cpp: `nbytes = n / 4 + 32`).
    public func byteCount(elements: Int) -> Int? {
        guard elements >= 0, elements % blockSize == 0 else { return nil }
        let (bytes, overflow) = (elements / blockSize).multipliedReportingOverflow(by: blockBytes)
        guard !overflow else { return nil }
        return self == .i2s ? bytes + 32 : bytes
    }

    /// A name for any ggml type id, so errors about unsupported types are readable.
    public static func knownName(id: UInt32) -> String {
        if let t = GGUFTensorType(rawValue: id) { return t.description }
        let others: [UInt32: String] = [
            6: "Q5_0", 7: "Q5_1", 9: "Q8_1", 10: "Q2_K", 11: "Q3_K", 13: "Q5_K", 15: "Q8_K",
            16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S", 20: "IQ4_NL", 21: "IQ3_S",
            22: "IQ2_S", 23: "IQ4_XS", 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64",
            29: "IQ1_M", 39: "MXFP4",
        ]
        return others[id] ?? "unknown"
    }
}
