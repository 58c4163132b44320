import CTernary

/// Element type of a float weight matrix.
public enum FloatElementType: Sendable, CaseIterable, CustomStringConvertible {
    case f32, f16, bf16

    public var bytesPerElement: Int { self == .f32 ? 4 : 2 }
    /// The ggml / GGUF tensor type id.
    public var ggmlType: UInt32 { UInt32(raw.rawValue) }

    public init?(ggmlType: UInt32) {
        guard let match = Self.allCases.first(where: { $0.ggmlType == ggmlType }) else { return nil }
        self = match
    }

    var raw: tern_float_type {
        switch self {
        case .f32: return TERN_F32
        case .f16: return TERN_F16
        case .bf16: return TERN_BF16
        }
    }

    public var description: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        }
    }
}

/// A read-only row-major rows×cols matrix of F32, F16 or BF16 values, viewed in place
/// (a GGUF tensor in an mmapped file, or memory this view owns). Weight matrices are
/// stored out×in as in GGUF: `rows` outputs, `cols` inputs.
public struct FloatMatrix: @unchecked Sendable {
    public let elementType: FloatElementType
    public let rows: Int
    public let cols: Int
    /// Exactly rows·cols·bytesPerElement bytes.
    public let bytes: UnsafeRawBufferPointer
    /// Keeps the memory behind `bytes` alive (an mmap, an owned buffer), or nil when the
    /// caller guarantees it outlives the view.
    public let owner: AnyObject?

    /// A view over existing bytes. Throws unless the byte count is exactly what the shape needs.
    public init(elementType: FloatElementType, rows: Int, cols: Int, bytes: UnsafeRawBufferPointer,
                owner: AnyObject? = nil) throws {
        let count = try FloatKernelError.product(rows, cols, "FloatMatrix")
        let needed = try FloatKernelError.product(count, elementType.bytesPerElement, "FloatMatrix")
        guard bytes.count == needed else {
            throw FloatKernelError.byteCountMismatch(shape: "\(rows)×\(cols)", format: "\(elementType)",
                                                     expected: needed, byteCount: bytes.count)
        }
        self.elementType = elementType
        self.rows = rows
        self.cols = cols
        self.bytes = bytes
        self.owner = owner
    }

    /// An owned matrix holding `values` (row-major) converted to `elementType`
    /// (round-to-nearest-even for F16 / BF16).
    public init(rows: Int, cols: Int, values: [Float], as elementType: FloatElementType = .f32) throws {
        let count = try FloatKernelError.product(rows, cols, "FloatMatrix")
        try FloatKernelError.expectCount(values.count, count, "FloatMatrix(values:)", "\(rows)×\(cols)")
        let storage = TensorStorage(byteCount: count * elementType.bytesPerElement)
        values.withUnsafeBufferPointer { src in
            guard let base = src.baseAddress, count > 0 else { return }
            switch elementType {
            case .f32: storage.bytes.copyMemory(from: UnsafeRawBufferPointer(src))
            case .f16: tern_f32_to_f16_row(base, storage.bytes.baseAddress!.assumingMemoryBound(to: UInt16.self), count)
            case .bf16: tern_f32_to_bf16_row(base, storage.bytes.baseAddress!.assumingMemoryBound(to: UInt16.self), count)
            }
        }
        try self.init(elementType: elementType, rows: rows, cols: cols,
                      bytes: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(storage.bytes)[0..<(count * elementType.bytesPerElement)]),
                      owner: storage)
    }

    /// Row `row` converted to F32.
    public func row(_ row: Int) throws -> [Float] {
        try [Float](unsafeUninitializedCapacity: cols) { out, initialized in
            try copyRow(row, into: out)
            initialized = cols
        }
    }

    /// Row `row` converted to F32 into `out` (cols values): an embedding lookup per decode
    /// step without allocating.
    public func copyRow(_ row: Int, into out: UnsafeMutableBufferPointer<Float>) throws {
        guard row >= 0, row < rows else {
            throw FloatKernelError.invalidArgument("FloatMatrix.row: row \(row) outside 0..<\(rows)")
        }
        try FloatKernelError.expectCount(out.count, cols, "FloatMatrix.copyRow", "\(cols)")
        guard cols > 0, let base = bytes.baseAddress, let target = out.baseAddress else { return }
        let start = base + row * cols * elementType.bytesPerElement
        switch elementType {
        case .f32: target.update(from: start.assumingMemoryBound(to: Float.self), count: cols)
        case .f16: tern_f16_to_f32_row(start.assumingMemoryBound(to: UInt16.self), target, cols)
        case .bf16: tern_bf16_to_f32_row(start.assumingMemoryBound(to: UInt16.self), target, cols)
        }
    }
}
