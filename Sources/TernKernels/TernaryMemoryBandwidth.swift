import CTernary
import Foundation

/// Measures sustained DRAM read bandwidth: every thread of the pool streams its share of a
/// buffer far larger than the caches. The ternary GEMV is judged against this number.
public enum TernaryMemoryBandwidth {
    /// Best of `repeats` full passes over `bytes` bytes, in GB/s (10^9 bytes per second).
    public static func measure(pool: ThreadPool, bytes: Int = 1 << 30, repeats: Int = 5) -> Double {
        let size = bytes / 8 * 8
        let buffer = TensorStorage(byteCount: size)
        let chunk = Int(TERN_STREAM_CHUNK_BYTES)
        var partial = [UInt64](repeating: 0, count: (size + chunk - 1) / chunk)
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = tern_stream_sum(pool.raw, buffer.pointer, size, &partial) // an opaque call: the reads happen
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return Double(size) / best / 1e9
    }
}
