import CTernary

/// The public ternary weight encodings the engine reads and writes.
public enum TernaryEncoding: String, Sendable, CaseIterable {
    /// ggml TQ2_0: 256-weight blocks, 2 bits per weight + fp16 scale (2.06 bpw).
    case tq2_0
    /// ggml TQ1_0: 256-weight blocks, base-3 packed + fp16 scale (1.69 bpw).
    case tq1_0
    /// bitnet.cpp I2_S (ggml type 36): 2 bits per weight, one fp32 scale per tensor.
    case i2s

    /// Bytes of a rows x cols tensor; rows whose length is not a multiple of the block are
    /// padded to whole blocks.
    public func byteCount(rows: Int, cols: Int) -> Int {
        switch self {
        case .tq2_0: tern_tq2_0_bytes(rows, cols)
        case .tq1_0: tern_tq1_0_bytes(rows, cols)
        case .i2s: tern_i2s_bytes(rows, cols)
        }
    }

    /// Encodes row-major floats. TQ1_0/TQ2_0 produce the same bytes as Python
    /// `gguf.quants.quantize` (per-block absmax scale); pass values through
    /// `TernaryEncoding.ternarize` first to store a BitNet absmean ternarization losslessly.
    public func encode(_ values: [Float], rows: Int, cols: Int) throws -> [UInt8] {
        try TensorShapeError.check("\(rawValue) encode: values for \(rows)x\(cols)", expected: rows * cols, actual: values.count)
        var out = [UInt8](repeating: 0, count: byteCount(rows: rows, cols: cols))
        values.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                switch self {
                case .tq2_0: tern_encode_tq2_0(src.baseAddress, rows, cols, dst.baseAddress)
                case .tq1_0: tern_encode_tq1_0(src.baseAddress, rows, cols, dst.baseAddress)
                case .i2s: tern_encode_i2s(src.baseAddress, rows, cols, dst.baseAddress)
                }
            }
        }
        return out
    }

    /// Decodes to row-major floats (scale x {-1, 0, +1}).
    public func decode(_ bytes: UnsafeRawBufferPointer, rows: Int, cols: Int) throws -> [Float] {
        try checkSize(bytes.count, rows: rows, cols: cols)
        var out = [Float](repeating: 0, count: rows * cols)
        out.withUnsafeMutableBufferPointer { dst in
            let src = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
            switch self {
            case .tq2_0: tern_decode_tq2_0(src, rows, cols, dst.baseAddress)
            case .tq1_0: tern_decode_tq1_0(src, rows, cols, dst.baseAddress)
            case .i2s: tern_decode_i2s(src, rows, cols, dst.baseAddress)
            }
        }
        return out
    }

    public func decode(_ bytes: [UInt8], rows: Int, cols: Int) throws -> [Float] {
        try bytes.withUnsafeBytes { try decode($0, rows: rows, cols: cols) }
    }

    func checkSize(_ count: Int, rows: Int, cols: Int) throws {
        try TensorShapeError.check("\(rawValue) bytes for a \(rows)x\(cols) tensor",
                                   expected: byteCount(rows: rows, cols: cols), actual: count)
    }

    /// BitNet b1.58 absmean ternarization in place: γ = mean|W|, W = γ·clamp(round(W/γ), −1, 1).
    /// Returns γ (0 for an all-zero tensor).
    @discardableResult
    public static func ternarize(_ values: inout [Float]) -> Float {
        values.withUnsafeMutableBufferPointer { tern_ternarize($0.baseAddress, $0.count) }
    }
}
