import CTernary
import Foundation

/// Measures DRAM read bandwidth: every thread of the pool streams its share of a slice of a
/// buffer far larger than the caches. The ternary GEMV is judged against this number.
public enum TernaryMemoryBandwidth {
    /// Wall clock, or the calling thread's CPU time (meaningful for a one-thread pool on a
    /// machine busy with other work: time spent descheduled is not counted).
    public enum Clock: Sendable {
        case wall, threadCPU

        public func seconds() -> Double {
            var ts = timespec()
            clock_gettime(self == .wall ? CLOCK_MONOTONIC : CLOCK_THREAD_CPUTIME_ID, &ts)
            return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
        }
    }

    /// GB/s (10^9 bytes per second) of the fastest pass over one `slice`-byte part of a
    /// `bytes`-byte buffer, passes going round the buffer so every pass reads from DRAM.
    /// A 4 MB slice is the size of one benchmark GEMV call's weights (about 3.5 MB).
    /// The best pass rather than the mean keeps other processes' time slices out of the
    /// figure, the same way `tern bench kernels` times each kernel call.
    public static func measure(pool: ThreadPool, bytes: Int = 1 << 30, slice: Int = 4 << 20, passes: Int = 512,
                               clock: Clock = .wall) -> Double {
        let sliceBytes = min(slice, bytes) / 8 * 8
        let slices = max(1, bytes / sliceBytes)
        let buffer = TensorStorage(byteCount: slices * sliceBytes)
        var partial = [UInt64](repeating: 0, count: pool.threadCount)
        var best = Double.infinity
        for pass in 0..<passes {
            let start = clock.seconds()
            // An opaque C call: the reads cannot be optimized away.
            _ = tern_stream_sum(pool.raw, buffer.pointer + (pass % slices) * sliceBytes, sliceBytes, &partial)
            best = min(best, clock.seconds() - start)
        }
        return Double(sliceBytes) / best / 1e9
    }
}
