import TernKernels

/// Folds an adapter into a copy of its base model: each modified projection becomes
/// W + (alpha/rank) · B · A, stored as F16 or F32. Those tensors are no longer ternary or
/// block-quantized (the merged weights are dense floats, so the file grows and the ternary
/// kernels no longer apply to them); every other tensor and all metadata are copied as they
/// are. A per-tensor `.scale` companion (BitNet) stays and still multiplies the merged
/// product, the order in which llama.cpp applies an unmerged adapter.
public enum LoRAMerge {
    /// How a merged projection is stored.
    public enum Storage: Sendable {
        case f16, f32

        var elementType: FloatElementType { self == .f16 ? .f16 : .f32 }
        var tensorType: GGUFTensorType { self == .f16 ? .f16 : .f32 }
    }

    public static func merged(base: GGUFFile, adapter: LoRAAdapter, storage: Storage = .f16) throws -> GGUFWriter {
        try LoRAAdapterFile.validate(adapter, against: base)
        let modified = Dictionary(uniqueKeysWithValues: adapter.sites.map { ($0.baseTensorName, adapter.weights[$0]!) })
        var writer = try GGUFWriter(alignment: base.alignment)
        for key in base.metadataKeys where key != "general.alignment" {
            try writer.set(key, base.metadata[key]!)
        }
        for tensor in base.tensors {
            if let pair = modified[tensor.name] {
                let values = try mergedValues(tensor, base: base, pair: pair, scale: adapter.scale)
                let matrix = try FloatMatrix(rows: tensor.rowCount, cols: tensor.rowLength, values: values, as: storage.elementType)
                try writer.addTensor(name: tensor.name, type: storage.tensorType, dimensions: tensor.dimensions,
                                     data: Array(matrix.bytes))
            } else {
                try writer.addTensor(name: tensor.name, type: tensor.type, dimensions: tensor.dimensions, data: Array(base.data(of: tensor)))
            }
        }
        return writer
    }

    /// W + scale · B · A as row-major outputs × inputs floats.
    static func mergedValues(_ tensor: GGUFTensorInfo, base: GGUFFile, pair: LoRAWeights, scale: Float) throws -> [Float] {
        let weights = try LinearWeights(tensor: tensor, file: base)
        let (rows, cols, rank) = (weights.rows, weights.cols, pair.rank)
        var values = [Float](repeating: 0, count: rows * cols)
        try values.withUnsafeMutableBufferPointer { out in
            for row in 0..<rows {
                let target = UnsafeMutableBufferPointer(rebasing: out[(row * cols)..<((row + 1) * cols)])
                try weights.copyRow(row, into: target)
                for k in 0..<rank {
                    let coefficient = scale * pair.b[row * rank + k]
                    let aRow = k * cols
                    for c in 0..<cols { target[c] += coefficient * pair.a[aRow + c] }
                }
            }
        }
        return values
    }
}
