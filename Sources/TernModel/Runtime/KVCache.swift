/// Keys and values of every past position, float32, head-major per layer:
/// `keys[layer][kvHead][position][headDimension]`, so that one KV head's keys (and values)
/// for positions 0..<n are one contiguous n × headDimension matrix that the attention's
/// float GEMM reads in place. Capacity is fixed when the session starts.
final class KVCache {
    let layers: Int
    let capacity: Int
    let kvHeads: Int
    let headDimension: Int
    private let keys: UnsafeMutableBufferPointer<Float>
    private let values: UnsafeMutableBufferPointer<Float>

    var kvDimension: Int { kvHeads * headDimension }

    init(layers: Int, capacity: Int, kvHeads: Int, headDimension: Int) {
        self.layers = layers
        self.capacity = capacity
        self.kvHeads = kvHeads
        self.headDimension = headDimension
        let count = layers * kvHeads * capacity * headDimension
        keys = .allocate(capacity: count)
        values = .allocate(capacity: count)
        keys.initialize(repeating: 0)
        values.initialize(repeating: 0)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    /// Keys of one KV head of `layer` from position 0 (capacity × headDimension floats).
    func keys(layer: Int, head: Int) -> UnsafeMutablePointer<Float> {
        keys.baseAddress! + (layer * kvHeads + head) * capacity * headDimension
    }

    func values(layer: Int, head: Int) -> UnsafeMutablePointer<Float> {
        values.baseAddress! + (layer * kvHeads + head) * capacity * headDimension
    }

    /// Stores `tokens` rows of token-major keys and values (tokens × kvHeads × headDimension,
    /// as the K and V projections produce them) at positions `start ..< start + tokens`.
    func store(layer: Int, start: Int, tokens: Int, keys k: UnsafeBufferPointer<Float>, values v: UnsafeBufferPointer<Float>) {
        let d = headDimension
        for h in 0..<kvHeads {
            let keyRows = keys(layer: layer, head: h) + start * d
            let valueRows = values(layer: layer, head: h) + start * d
            for t in 0..<tokens {
                let source = (t * kvHeads + h) * d
                (keyRows + t * d).update(from: k.baseAddress! + source, count: d)
                (valueRows + t * d).update(from: v.baseAddress! + source, count: d)
            }
        }
    }
}
