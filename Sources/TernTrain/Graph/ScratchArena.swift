/// Reusable float scratch buffers keyed by role: each grows to the largest size asked for
/// and is then reused, so a training step allocates nothing once warmed up.
final class ScratchArena {
    private var buffers: [String: TrainingBuffer] = [:]

    /// `count` floats for `role`; the contents are whatever the last user left.
    func buffer(_ role: String, count: Int) -> UnsafeMutableBufferPointer<Float> {
        if let b = buffers[role], b.count >= count { return b.prefix(count) }
        let b = TrainingBuffer(count: count)
        buffers[role] = b
        return b.prefix(count)
    }
}
