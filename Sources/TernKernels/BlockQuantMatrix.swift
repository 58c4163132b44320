import CTernary

/// Block-quantized weight formats of GGUF models, with ggml's layouts.
public enum BlockQuantFormat: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case q4_0 = 2
    case q4_1 = 3
    case q8_0 = 8
    case q4_K = 12
    case q6_K = 14

    /// The ggml / GGUF tensor type id.
    public var ggmlType: UInt32 { rawValue }
    public init?(ggmlType: UInt32) { self.init(rawValue: ggmlType) }

    var raw: tern_quant_format { tern_quant_format(rawValue: rawValue) }
    /// Weights per block: 32, or 256 for the K formats.
    public var blockElements: Int { tern_quant_block_elements(raw) }
    /// Bytes per block.
    public var blockBytes: Int { tern_quant_block_bytes(raw) }

    public var description: String {
        switch self {
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q8_0: return "Q8_0"
        case .q4_K: return "Q4_K"
        case .q6_K: return "Q6_K"
        }
    }

    /// Bytes that `elements` weights take, throwing unless they fill whole blocks.
    public func byteCount(elements: Int) throws -> Int {
        guard elements >= 0, elements % blockElements == 0 else {
            throw FloatKernelError.invalidArgument(
                "\(self): \(elements) weights are not a whole number of \(blockElements)-weight blocks")
        }
        return try FloatKernelError.product(elements / blockElements, blockBytes, "\(self) size")
    }
}

/// A read-only rows×cols matrix in a block-quantized format, viewed in place (e.g. a GGUF
/// tensor in an mmapped file). Each row is cols/blockElements whole blocks; rows are
/// outputs and cols inputs, as GGUF stores weights.
public struct BlockQuantMatrix: @unchecked Sendable {
    public let format: BlockQuantFormat
    public let rows: Int
    public let cols: Int
    /// Exactly rows · rowBytes bytes.
    public let bytes: UnsafeRawBufferPointer
    /// Keeps the memory behind `bytes` alive, or nil when the caller guarantees it.
    public let owner: AnyObject?
    public let rowBytes: Int

    /// A view over existing bytes. Throws unless cols fills whole blocks and the byte
    /// count is exactly what the shape needs.
    public init(format: BlockQuantFormat, rows: Int, cols: Int, bytes: UnsafeRawBufferPointer,
                owner: AnyObject? = nil) throws {
        let rowBytes = try format.byteCount(elements: cols)
        let needed = try FloatKernelError.product(rows, rowBytes, "BlockQuantMatrix")
        guard bytes.count == needed else {
            throw FloatKernelError.byteCountMismatch(shape: "\(rows)×\(cols)", format: "\(format)",
                                                     expected: needed, byteCount: bytes.count)
        }
        self.format = format
        self.rows = rows
        self.cols = cols
        self.bytes = bytes
        self.owner = owner
        self.rowBytes = rowBytes
    }

    /// An owned copy of `blocks` (rows·rowBytes bytes).
    public init(format: BlockQuantFormat, rows: Int, cols: Int, copying blocks: [UInt8]) throws {
        let storage = KernelMatrixStorage(byteCount: blocks.count)
        blocks.withUnsafeBytes { storage.bytes.copyMemory(from: $0) }
        try self.init(format: format, rows: rows, cols: cols,
                      bytes: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(storage.bytes)[0..<blocks.count]),
                      owner: storage)
    }

    /// Dequantizes rows `range` into `out` (range.count × cols values), bit-exact with ggml.
    public func dequantizeRows(_ range: Range<Int>, into out: UnsafeMutableBufferPointer<Float>) throws {
        guard range.lowerBound >= 0, range.upperBound <= rows else {
            throw FloatKernelError.invalidArgument("\(format) dequantizeRows: rows \(range) outside 0..<\(rows)")
        }
        try FloatKernelError.expectCount(out.count, range.count * cols, "\(format) dequantizeRows", "\(range.count)×\(cols)")
        guard !range.isEmpty, cols > 0 else { return }
        _ = tern_dequantize(format.raw, bytes.baseAddress! + range.lowerBound * rowBytes, out.baseAddress, range.count * cols)
    }

    /// Row `row` as F32.
    public func row(_ row: Int) throws -> [Float] {
        var out = [Float](repeating: 0, count: cols)
        try out.withUnsafeMutableBufferPointer { try dequantizeRows(row..<(row + 1), into: $0) }
        return out
    }
}
