/// Where one tensor lives in a GGUF file, already validated against the file's size.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    public let type: GGUFTensorType
    /// ggml order: `dimensions[0]` is the row length (the fastest-varying index).
    public let dimensions: [Int]
    /// Absolute byte offset of the data in the file.
    public let fileOffset: Int
    public let byteCount: Int

    public var elementCount: Int { dimensions.reduce(1, *) }
    public var rowLength: Int { dimensions.first ?? 1 }
    /// Product of every dimension after the first.
    public var rowCount: Int { dimensions.dropFirst().reduce(1, *) }
}
