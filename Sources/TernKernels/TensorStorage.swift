/// Owned, 64-byte aligned, zero-initialized bytes for kernel operands (SIMD loads of whole
/// cache lines). Freed when the last reference goes away.
public final class TensorStorage: @unchecked Sendable {
    public let pointer: UnsafeMutableRawPointer
    public let byteCount: Int

    public init(byteCount: Int) {
        self.byteCount = byteCount
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: 64)
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: max(byteCount, 1))
    }

    /// The same memory as a buffer.
    public var bytes: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(start: pointer, count: byteCount) }

    deinit { pointer.deallocate() }
}
