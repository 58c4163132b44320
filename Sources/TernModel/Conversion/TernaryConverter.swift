import TernKernels

/// BitNet b1.58 absmean ternarization of a whole model: the seven projections of every
/// block (attn_q, attn_k, attn_v, attn_output, ffn_gate, ffn_up, ffn_down) become
/// γ·{−1, 0, +1} with γ = mean|W| of the tensor; every other tensor (embeddings, norms,
/// output head, `.scale` companions) and all metadata (tokenizer, chat template) are
/// copied unchanged. Works from any stored type the runtime reads, dequantizing one
/// tensor at a time, so float memory stays at one projection.
public struct TernaryConverter {
    public let format: TernaryFormat

    public init(format: TernaryFormat) {
        self.format = format
    }

    /// One step of a conversion, for progress reports.
    public struct Progress: Sendable {
        public let tensor: String
        /// 1-based position among all tensors, and their count.
        public let index: Int
        public let count: Int
        /// True when the tensor was ternarized, false when it was copied.
        public let ternarized: Bool
    }

    /// The names of the projections this converter ternarizes in `file`.
    public static func projectionNames(in file: GGUFFile) throws -> Set<String> {
        let layout = try ModelTensorLayout(file: file, parameters: try ModelHyperParameters(metadata: file.metadata))
        return Set(layout.layers.flatMap { layer in
            [layer.query, layer.key, layer.value, layer.attentionOutput, layer.gate, layer.up, layer.down].map(\.tensor.name)
        })
    }

    /// The converted model, ready to write. Fails before any work when a projection's
    /// shape does not fit the format.
    public func convert(_ file: GGUFFile, progress: (Progress) -> Void = { _ in }) throws -> GGUFWriter {
        let projections = try Self.projectionNames(in: file)
        let projectionTensors = file.tensors.filter { projections.contains($0.name) }
        let encoding = format.encoding(forRowLengths: projectionTensors.map(\.rowLength))
        try projectionTensors.forEach { try Self.check($0, fits: encoding) }

        var writer = try GGUFWriter(alignment: file.alignment)
        // The alignment is the writer's; the file type describes the old projections.
        for key in file.metadataKeys where key != "general.alignment" && key != "general.file_type" {
            if let value = file.metadata[key] { try writer.set(key, value) }
        }
        if let fileType = encoding.llamaFileType { try writer.set("general.file_type", .uint32(fileType)) }

        for (index, tensor) in file.tensors.enumerated() {
            let ternarize = projections.contains(tensor.name)
            if ternarize {
                var values = try Self.floatValues(of: tensor, in: file)
                TernaryEncoding.ternarize(&values)
                let bytes = try encoding.encode(values, rows: tensor.rowCount, cols: tensor.rowLength)
                try writer.addTensor(name: tensor.name, type: encoding.tensorType, dimensions: tensor.dimensions, data: bytes)
            } else {
                try writer.addTensor(name: tensor.name, type: tensor.type, dimensions: tensor.dimensions,
                                     data: Array(file.data(of: tensor)))
            }
            progress(Progress(tensor: tensor.name, index: index + 1, count: file.tensors.count, ternarized: ternarize))
        }
        return writer
    }

    private static func check(_ tensor: GGUFTensorInfo, fits encoding: TernaryEncoding) throws {
        switch encoding {
        case .tq2_0, .tq1_0:
            guard tensor.rowLength % 256 == 0 else {
                throw TernaryConversionError.rowLengthNotSupported(tensor: tensor.name, rowLength: tensor.rowLength,
                                                                   format: encoding.rawValue)
            }
        case .i2s:
            // ggml sizes I2_S as elements/4 + 32 bytes; the packing works in groups of 128.
            guard tensor.elementCount % 128 == 0 else {
                throw TernaryConversionError.tensorSizeNotSupported(tensor: tensor.name, elements: tensor.elementCount)
            }
        }
    }

    /// The tensor as row-major floats, decoded with the runtime's own readers.
    private static func floatValues(of tensor: GGUFTensorInfo, in file: GGUFFile) throws -> [Float] {
        let weights = try LinearWeights(tensor: tensor, file: file)
        let cols = tensor.rowLength
        var values = [Float](repeating: 0, count: tensor.elementCount)
        try values.withUnsafeMutableBufferPointer { all in
            for row in 0..<tensor.rowCount {
                try weights.copyRow(row, into: UnsafeMutableBufferPointer(rebasing: all[(row * cols)..<((row + 1) * cols)]))
            }
        }
        return values
    }
}
