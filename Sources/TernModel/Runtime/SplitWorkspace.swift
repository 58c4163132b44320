/// Reusable float scratch for the int16 path (`Linear.forwardSplit`): its 2n-row outputs
/// and, for block-quantized weights, its 2n-row split inputs. A session keeps one, so an
/// int16 decode step allocates nothing once the first step has sized it.
final class SplitWorkspace {
    /// Requests above this many floats (64 MB: e.g. full-vocabulary logits for a long
    /// prompt) are not kept: the caller allocates them for the one call instead.
    static let largestKept = 16 << 20

    private var storage = UnsafeMutableBufferPointer<Float>(start: nil, count: 0)

    deinit { storage.deallocate() }

    /// `count` floats, valid until the next call; nil when `count` is above `largestKept`.
    func buffer(count: Int) -> UnsafeMutableBufferPointer<Float>? {
        guard count <= Self.largestKept else { return nil }
        if storage.count < count {
            storage.deallocate()
            storage = .allocate(capacity: count)
        }
        return UnsafeMutableBufferPointer(rebasing: storage[0..<count])
    }
}
