import TernSupport
import Foundation
import TernKernels
import TernMesh

/// What this machine measured of itself, advertised in its hardware profile so that a
/// dispatcher can weigh peers by real speed rather than by core counts.
public struct MeasuredThroughput: Codable, Sendable, Equatable {
    /// Ternary GEMM (2560×2560 weights, 64 tokens) on every core, 2·M·K·N / s.
    public var ternaryGOPS: Double
    /// DRAM read bandwidth.
    public var memoryGBPerSecond: Double
    /// The machine and build the figures belong to: a cached result is reused only if
    /// all three still match.
    public var cpuModel: String
    public var cores: Int
    public var ternVersion: String
    public var measuredAt: Date
}

/// A short self-benchmark (well under a second), cached in the data directory. Synchronous
/// and CPU-bound: the daemon runs it on its `ComputeExecutor`.
public enum ThroughputProbe {
    static func cacheFile(in directory: NodeDirectory) -> URL {
        directory.url.appendingPathComponent("throughput.json")
    }

    /// The cached figures, if they were measured on this machine by this build.
    public static func cached(in directory: NodeDirectory, hardware: DetectedHardware) -> MeasuredThroughput? {
        guard let data = FileManager.default.contents(atPath: cacheFile(in: directory).path),
              let cached = try? ControlJSON.decoder.decode(MeasuredThroughput.self, from: data),
              cached.cpuModel == hardware.cpuModel, cached.cores == hardware.logicalCores,
              cached.ternVersion == TernVersion.string else { return nil }
        return cached
    }

    public static func measureAndCache(in directory: NodeDirectory, hardware: DetectedHardware) -> MeasuredThroughput {
        let measured = measure(hardware: hardware)
        if let data = try? ControlJSON.encoder.encode(measured) {
            FileManager.default.createFile(atPath: cacheFile(in: directory).path, contents: data)
        }
        return measured
    }

    public static func measure(hardware: DetectedHardware) -> MeasuredThroughput {
        let pool = ThreadPool()
        let (rows, cols, tokens) = (2560, 2560, 64)
        var generator = SplitMix64(seed: 0x7e57)
        let weights = (0..<rows * cols).map { _ in Float(Int(generator.next() % 3) - 1) }
        let activations = (0..<tokens * cols).map { _ in Float(Int(generator.next() % 255) - 127) / 127 }
        var gops = 0.0
        if let encoded = try? TernaryEncoding.tq2_0.encode(weights, rows: rows, cols: cols),
           let matrix = try? TernaryMatrix.repacking(encoded, encoding: .tq2_0, rows: rows, cols: cols),
           let x = try? QuantizedActivations(activations, tokens: tokens, cols: cols) {
            var best = Double.infinity
            for _ in 0..<5 {
                let start = DispatchTime.now().uptimeNanoseconds
                _ = try? matrix.gemm(x, pool: pool)
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            gops = 2 * Double(rows * cols * tokens) / best / 1e9
        }
        let bandwidth = TernaryMemoryBandwidth.measure(pool: pool, bytes: 256 << 20, slice: 32 << 20, passes: 16)
        return MeasuredThroughput(
            ternaryGOPS: gops, memoryGBPerSecond: bandwidth, cpuModel: hardware.cpuModel,
            cores: hardware.logicalCores, ternVersion: TernVersion.string, measuredAt: Date())
    }
}
