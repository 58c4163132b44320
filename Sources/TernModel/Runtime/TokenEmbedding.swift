import TernKernels

/// The token embedding, looked up a row per token. When the forward pass reads it only
/// this way (it is not also the output head multiplied in its stored form), rows of a float
/// or block-quantized embedding are read from the model file with pread instead of through
/// the mapping: on Linux 6.18 a fault maps the whole page-cache folio around it (up to
/// 2 MB), so a 2B benchmark's random tokens made ~190 MB of its 252 MB F16 embedding
/// resident. A read costs one syscall per token.
public struct TokenEmbedding: Sendable {
    public let weights: LinearWeights
    /// Where rows are read from when not in place: the file, the tensor and its row form.
    private let source: (file: GGUFFile, tensor: GGUFTensorInfo, form: StoredRow)?

    private enum StoredRow {
        case float(FloatElementType)
        case blockQuant(BlockQuantFormat)
    }

    init(weights: LinearWeights, tensor: GGUFTensorInfo, file: GGUFFile, readFromFile: Bool) {
        self.weights = weights
        switch weights {
        case .float(let m) where readFromFile: source = (file, tensor, .float(m.elementType))
        case .blockQuant(let m) where readFromFile: source = (file, tensor, .blockQuant(m.format))
        default: source = nil
        }
    }

    /// Bytes `copyRow` stages a row in; 0 when rows are read in place.
    public var stagingBytes: Int { source.map { $0.tensor.byteCount / max(1, $0.tensor.rowCount) } ?? 0 }

    /// Row `row` as floats into `out`. `staging` (at least `stagingBytes`) holds the stored
    /// row on its way from the file; without it one is allocated for the call.
    public func copyRow(_ row: Int, into out: UnsafeMutableBufferPointer<Float>,
                        staging: UnsafeMutableRawBufferPointer? = nil) throws {
        guard let source else { return try weights.copyRow(row, into: out) }
        guard row >= 0, row < weights.rows else {
            throw RuntimeError.tokenOutOfRange(token: Int32(truncatingIfNeeded: row), vocabularySize: weights.rows)
        }
        let rowBytes = stagingBytes
        let owned = staging == nil ? UnsafeMutableRawBufferPointer.allocate(byteCount: rowBytes, alignment: 64) : nil
        defer { owned?.deallocate() }
        let buffer = UnsafeMutableRawBufferPointer(rebasing: (staging ?? owned!)[0..<rowBytes])
        let stored = source.file.data(of: source.tensor)
        try source.file.read(UnsafeRawBufferPointer(rebasing: stored[(row * rowBytes)..<((row + 1) * rowBytes)]), into: buffer)
        let bytes = UnsafeRawBufferPointer(buffer)
        let cols = weights.cols
        switch source.form {
        case .float(let element):
            try FloatMatrix(elementType: element, rows: 1, cols: cols, bytes: bytes).copyRow(0, into: out)
        case .blockQuant(let format):
            try BlockQuantMatrix(format: format, rows: 1, cols: cols, bytes: bytes).dequantizeRows(0..<1, into: out)
        }
    }
}
