import TernKernels

/// The intermediate buffers of one forward pass over a batch of `tokens`, allocated once
/// and reused for every batch of the same size.
final class ForwardScratch {
    let tokens: Int
    let hidden, normed, query, attention, projection, gate, up, scores: UnsafeMutableBufferPointer<Float>
    let positions: UnsafeMutableBufferPointer<Int32>
    private var quantized: [ActivationShape: QuantizedActivations] = [:]

    private struct ActivationShape: Hashable {
        let tokens, cols: Int
    }

    init(parameters hp: ModelHyperParameters, tokens: Int, capacity: Int) {
        self.tokens = tokens
        func buffer(_ width: Int) -> UnsafeMutableBufferPointer<Float> {
            let b = UnsafeMutableBufferPointer<Float>.allocate(capacity: tokens * width)
            b.initialize(repeating: 0)
            return b
        }
        hidden = buffer(hp.embeddingLength)
        normed = buffer(hp.embeddingLength)
        query = buffer(hp.embeddingLength)
        attention = buffer(hp.embeddingLength)
        projection = buffer(hp.embeddingLength)
        gate = buffer(hp.feedForwardLength)
        up = buffer(hp.feedForwardLength)
        scores = .allocate(capacity: capacity)
        scores.initialize(repeating: 0)
        positions = .allocate(capacity: tokens)
        positions.initialize(repeating: 0)
    }

    deinit {
        for b in [hidden, normed, query, attention, projection, gate, up, scores] { b.deallocate() }
        positions.deallocate()
    }

    /// Int8 activation scratch for `tokens` × `cols` inputs.
    func activations(tokens: Int, cols: Int) -> QuantizedActivations {
        let shape = ActivationShape(tokens: tokens, cols: cols)
        if let a = quantized[shape] { return a }
        let a = QuantizedActivations(tokens: tokens, cols: cols)
        quantized[shape] = a
        return a
    }
}

extension UnsafeMutableBufferPointer where Element == Float {
    /// Rows `range` of a row-major matrix with rows of `width` values.
    func rows(_ range: Range<Int>, width: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(rebasing: self[(range.lowerBound * width)..<(range.upperBound * width)])
    }
}
