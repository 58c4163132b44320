import TernKernels

/// The intermediate buffers of the forward pass, allocated for the largest batch seen so
/// far and reused (as prefixes) by every smaller batch, so a decode step allocates nothing.
final class ForwardScratch {
    /// The most tokens a batch may have.
    let tokens: Int
    private let hidden, normed, query, keys, values, attention, projection, gate, up: UnsafeMutableBufferPointer<Float>
    private let positions: UnsafeMutableBufferPointer<Int32>
    private var quantized: [ActivationShape: QuantizedActivations] = [:]

    private struct ActivationShape: Hashable {
        let tokens, cols: Int
    }

    init(parameters hp: ModelHyperParameters, tokens: Int) {
        self.tokens = tokens
        func buffer(_ width: Int) -> UnsafeMutableBufferPointer<Float> {
            let b = UnsafeMutableBufferPointer<Float>.allocate(capacity: tokens * width)
            b.initialize(repeating: 0)
            return b
        }
        let kv = hp.headCountKV * hp.headDimension
        hidden = buffer(hp.embeddingLength)
        normed = buffer(hp.embeddingLength)
        query = buffer(hp.embeddingLength)
        keys = buffer(kv)
        values = buffer(kv)
        attention = buffer(hp.embeddingLength)
        projection = buffer(hp.embeddingLength)
        gate = buffer(hp.feedForwardLength)
        up = buffer(hp.feedForwardLength)
        positions = .allocate(capacity: tokens)
        positions.initialize(repeating: 0)
    }

    deinit {
        for b in [hidden, normed, query, keys, values, attention, projection, gate, up] { b.deallocate() }
        positions.deallocate()
    }

    /// Views of the first `n` tokens of every buffer (n ≤ `tokens`).
    func batch(_ n: Int) -> ForwardBuffers {
        func prefix(_ b: UnsafeMutableBufferPointer<Float>) -> UnsafeMutableBufferPointer<Float> {
            UnsafeMutableBufferPointer(rebasing: b[0..<(b.count / tokens * n)])
        }
        return ForwardBuffers(
            tokens: n, hidden: prefix(hidden), normed: prefix(normed), query: prefix(query), keys: prefix(keys),
            values: prefix(values), attention: prefix(attention), projection: prefix(projection), gate: prefix(gate),
            up: prefix(up), positions: UnsafeMutableBufferPointer(rebasing: positions[0..<n]))
    }

    /// Int8 activation scratch for `tokens` × `cols` inputs (made once per shape).
    func activations(tokens: Int, cols: Int) -> QuantizedActivations {
        let shape = ActivationShape(tokens: tokens, cols: cols)
        if let a = quantized[shape] { return a }
        let a = QuantizedActivations(tokens: tokens, cols: cols)
        quantized[shape] = a
        return a
    }
}

/// The buffers of one batch of `tokens` tokens, row-major (token × width).
struct ForwardBuffers {
    let tokens: Int
    let hidden, normed, query, keys, values, attention, projection, gate, up: UnsafeMutableBufferPointer<Float>
    let positions: UnsafeMutableBufferPointer<Int32>
}

extension UnsafeMutableBufferPointer where Element == Float {
    /// Rows `range` of a row-major matrix with rows of `width` values.
    func rows(_ range: Range<Int>, width: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(rebasing: self[(range.lowerBound * width)..<(range.upperBound * width)])
    }
}
