import TernKernels

/// Turns a `SyntheticModelSpec` into a GGUF image: random weights drawn from the spec's
/// seed (the same seed gives the same file), projections ternarized with BitNet's absmean
/// rule and stored in the spec's ternary encoding.
public enum ModelSynthesizer {
    /// Progress of `makeWriter`: tensors done so far, total, and the tensor just finished.
    public typealias Progress = (_ done: Int, _ total: Int, _ tensor: SyntheticTensor) -> Void

    /// A writer holding every tensor of `spec`; call `write(to:)` on it.
    public static func makeWriter(_ spec: SyntheticModelSpec, progress: Progress = { _, _, _ in }) throws -> GGUFWriter {
        var writer = try GGUFWriter()
        for (key, value) in spec.metadata { try writer.set(key, value) }
        var random = RandomSource(seed: spec.seed)
        let tensors = spec.tensors
        for (index, tensor) in tensors.enumerated() {
            let (type, data) = try encode(tensor, encoding: spec.encoding, random: &random)
            try writer.addTensor(name: tensor.name, type: type, dimensions: tensor.dimensions, data: data)
            progress(index + 1, tensors.count, tensor)
        }
        return writer
    }

    /// Amplitude of the token embedding's uniform values: logits of the tied head come out
    /// with a spread of a few nats, like a trained model's.
    static let embeddingAmplitude: Float = 0.05
    /// Embedding rows converted to F16 per step (bounds the float scratch).
    static let embeddingChunkRows = 1024

    private static func encode(_ tensor: SyntheticTensor, encoding: TernaryEncoding,
                               random: inout RandomSource) throws -> (GGUFTensorType, [UInt8]) {
        switch tensor.role {
        case .norm:
            let ones = [Float](repeating: 1, count: tensor.rows * tensor.rowLength)
            return (.f32, ones.withUnsafeBytes { Array($0) })
        case .projection:
            // Uniform in ±2/√cols: absmean γ = 1/√cols keeps each output near unit scale.
            var values = uniform(count: tensor.rows * tensor.rowLength,
                                 amplitude: 2 / Float(tensor.rowLength).squareRoot(), random: &random)
            TernaryEncoding.ternarize(&values)
            return (ggmlType(encoding), try encoding.encode(values, rows: tensor.rows, cols: tensor.rowLength))
        case .embedding:
            var bytes: [UInt8] = []
            bytes.reserveCapacity(tensor.rows * tensor.rowLength * 2)
            for start in stride(from: 0, to: tensor.rows, by: embeddingChunkRows) {
                let rows = min(embeddingChunkRows, tensor.rows - start)
                let values = uniform(count: rows * tensor.rowLength, amplitude: embeddingAmplitude, random: &random)
                let half = try FloatMatrix(rows: rows, cols: tensor.rowLength, values: values, as: .f16)
                bytes.append(contentsOf: half.bytes)
            }
            return (.f16, bytes)
        }
    }

    private static func ggmlType(_ encoding: TernaryEncoding) -> GGUFTensorType {
        switch encoding {
        case .tq1_0: .tq1_0
        case .tq2_0: .tq2_0
        case .i2s: .i2s
        }
    }

    /// `count` values uniform in (−amplitude, amplitude), two per 64 random bits.
    private static func uniform(count: Int, amplitude: Float, random: inout RandomSource) -> [Float] {
        let unit = amplitude * 0x1p-31
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            var i = 0
            while i < count {
                let bits = random.next()
                out[i] = Float(Int32(truncatingIfNeeded: bits)) * unit
                if i + 1 < count { out[i + 1] = Float(Int32(truncatingIfNeeded: bits >> 32)) * unit }
                i += 2
            }
            initialized = count
        }
    }
}
