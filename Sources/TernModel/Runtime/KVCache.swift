/// Keys and values of every past position, float32, per layer:
/// `keys[layer][position·kvDimension + …]`. Capacity is fixed when the session starts.
final class KVCache {
    let layers: Int
    let capacity: Int
    let kvDimension: Int
    private let keys: UnsafeMutableBufferPointer<Float>
    private let values: UnsafeMutableBufferPointer<Float>

    init(layers: Int, capacity: Int, kvDimension: Int) {
        self.layers = layers
        self.capacity = capacity
        self.kvDimension = kvDimension
        let count = layers * capacity * kvDimension
        keys = .allocate(capacity: count)
        values = .allocate(capacity: count)
        keys.initialize(repeating: 0)
        values.initialize(repeating: 0)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    /// The keys of `layer` from position 0 (capacity × kvDimension floats).
    func keys(layer: Int) -> UnsafeMutablePointer<Float> {
        keys.baseAddress! + layer * capacity * kvDimension
    }

    func values(layer: Int) -> UnsafeMutablePointer<Float> {
        values.baseAddress! + layer * capacity * kvDimension
    }
}
