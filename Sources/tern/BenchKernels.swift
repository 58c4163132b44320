import ArgumentParser
import Foundation
import TernKernels

/// `tern bench kernels`: memory bandwidth, then ternary GEMV/GEMM on BitNet-2B shapes in the
/// engine layout (T5) and read straight from TQ2_0, with weights cycled through enough
/// distinct copies that they stream from DRAM.
struct BenchKernels: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Ternary GEMV/GEMM throughput against measured memory bandwidth."
    )

    @Flag(help: "Print JSON instead of a table.") var json = false
    @Option(help: "Kernel threads (default: one per CPU).") var threads: Int?
    @Option(help: "Kernel variant: \(KernelVariant.allCases.map(\.rawValue).joined(separator: ", ")) (default: best).")
    var variant: String?
    @Option(help: "Seconds spent on each case (the fastest call counts).") var seconds = 0.5
    @Flag(help: "Time with the calling thread's CPU time instead of the wall clock (needs --threads 1): figures for a machine busy with other work.")
    var cpuTime = false

    struct Case: Codable {
        let shape: String
        let n: Int
        let format: String
        let gops: Double
        let gbs: Double
        let pct_bandwidth: Double
        /// The bandwidth `pct_bandwidth` divides by (see `run`).
        let bandwidth_gbs: Double
    }

    struct Report: Codable {
        let bandwidth_gbs: Double
        let threads: Int
        let variant: String
        let clock: String
        let weight_copies_mb: Double
        let cases: [Case]
    }

    func run() throws {
        let kernel = try chosenVariant()
        if cpuTime && threads != 1 { throw ValidationError("--cpu-time needs --threads 1 (other threads' time is not counted)") }
        let pool = ThreadPool(threads: threads)
        let clock: BenchClock = cpuTime ? .threadCPU : .wall
        // This VM's bandwidth drifts by up to 1.7x within a minute while each case keeps its
        // fastest call over seconds. A GEMV (n = 1, bound by memory) is therefore compared
        // with the higher of two bandwidth readings taken right before and right after it, in
        // the same phase it ran in; a reading from a faster minute elsewhere in the run would
        // understate it, one from a slower minute flatter it. The compute-bound cases (n > 1)
        // are compared with the highest reading of the run. Each reading takes 4096 passes
        // (about as many tries as a GEMV case gets calls), not the default 512.
        func measureBandwidth() -> Double { TernaryMemoryBandwidth.measure(pool: pool, passes: 4096, clock: clock.ternaryClock) }
        var highest = 0.0
        var timed: [(shape: String, n: Int, format: String, gops: Double, gbs: Double, adjacentBandwidth: Double?)] = []
        var copiesBytes = 0
        for (rows, cols) in [(2560, 6912), (6912, 2560)] {
            let shape = try ShapeWeights(rows: rows, cols: cols)
            copiesBytes += shape.residentBytes
            for n in [1, 8, 64, 512] {
                let x = try QuantizedActivations(tokens: n, cols: cols, seed: n)
                var y = [Float](repeating: 0, count: n * rows)
                for format in ["t5", "tq2_0"] {
                    let before = n == 1 ? measureBandwidth() : nil
                    let (perCall, bytesPerCall) = try y.withUnsafeMutableBufferPointer { out in
                        try shape.timeCall(format: format, seconds: seconds, clock: clock) { index in
                            if format == "t5" {
                                try shape.engine[index].gemm(x, into: out, pool: pool, variant: kernel)
                            } else {
                                try shape.tq2[index].gemm(x, into: out, pool: pool, variant: kernel)
                            }
                        }
                    }
                    let adjacent = before.map { max($0, measureBandwidth()) }
                    highest = max(highest, adjacent ?? 0)
                    timed.append((shape: "\(rows)x\(cols)", n: n, format: format,
                                  gops: 2 * Double(rows * cols * n) / perCall / 1e9,
                                  gbs: Double(bytesPerCall) / perCall / 1e9, adjacentBandwidth: adjacent))
                }
            }
        }
        let bandwidth = highest
        let cases = timed.map { t in
            let reference = t.adjacentBandwidth ?? bandwidth
            return Case(shape: t.shape, n: t.n, format: t.format, gops: t.gops, gbs: t.gbs,
                        pct_bandwidth: 100 * t.gbs / reference, bandwidth_gbs: reference)
        }
        let report = Report(bandwidth_gbs: bandwidth, threads: pool.threadCount, variant: kernel.rawValue,
                            clock: clock.rawValue,
                            weight_copies_mb: Double(copiesBytes) / 1e6, cases: cases)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            printTable(report)
        }
    }

    private func chosenVariant() throws -> KernelVariant {
        guard let name = variant else { return .best }
        guard let v = KernelVariant(rawValue: name) else {
            throw ValidationError("unknown variant '\(name)'; choose one of \(KernelVariant.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard v.isAvailable else { throw ValidationError("variant \(name) is not available on this CPU") }
        return v
    }

    private func printTable(_ r: Report) {
        print("memory read bandwidth: \(String(format: "%.1f", r.bandwidth_gbs)) GB/s (highest in this run)  threads: \(r.threads)  variant: \(r.variant)  clock: \(r.clock)")
        print("n = 1 cases are compared with the bandwidth read just before and after them (VS GB/s); the others with the highest")
        print("weights cycled through \(String(format: "%.0f", r.weight_copies_mb)) MB of distinct copies")
        var table = TablePrinter("SHAPE (ROWS x COLS)", "N", "FORMAT", "GOPS", "WEIGHT GB/s", "VS GB/s", "% OF BANDWIDTH")
        for c in r.cases {
            table.add([c.shape, String(c.n), c.format, String(format: "%.1f", c.gops), String(format: "%.1f", c.gbs),
                       String(format: "%.1f", c.bandwidth_gbs), String(format: "%.0f%%", c.pct_bandwidth)])
        }
        print(table.render())
    }
}

/// One benchmark shape: distinct copies of the same random ternary matrix in the engine
/// layout and as TQ2_0, enough of them (≥ 256 MB per format) to stream from DRAM.
private struct ShapeWeights {
    let rows: Int, cols: Int
    let engine: [TernaryMatrix]
    let tq2: [TernaryTQ2Matrix]
    let tq2Storage: [TensorStorage]

    init(rows: Int, cols: Int) throws {
        self.rows = rows
        self.cols = cols
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let values = (0..<rows * cols).map { _ -> Float in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return 0.5 * Float(Int(state % 3) - 1)
        }
        let bytes = try TernaryEncoding.tq2_0.encode(values, rows: rows, cols: cols)
        let first = try TernaryMatrix.repacking(bytes, encoding: .tq2_0, rows: rows, cols: cols)
        let copies = max(8, (256 << 20) / first.byteCount + 1)
        engine = [first] + (1..<copies).map { _ in first.copy() }
        let storage = (0..<copies).map { _ -> TensorStorage in
            let s = TensorStorage(byteCount: bytes.count)
            bytes.withUnsafeBytes { s.pointer.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
            return s
        }
        tq2Storage = storage
        tq2 = try storage.map { s in
            try TernaryTQ2Matrix(bytes: UnsafeRawBufferPointer(start: s.pointer, count: s.byteCount), rows: rows, cols: cols, owner: s)
        }
    }

    var residentBytes: Int { engine.reduce(0) { $0 + $1.byteCount } + tq2Storage.reduce(0) { $0 + $1.byteCount } }

    /// Seconds of the fastest call during `seconds` of calls cycling through the copies (so
    /// each call reads weights that left the caches long ago; the fastest call is the one
    /// no other process interrupted), and the weight bytes one call reads.
    func timeCall(format: String, seconds: Double, clock: BenchClock, _ call: (Int) throws -> Void) throws -> (Double, Int) {
        let bytes = format == "t5" ? engine[0].rowBytes * rows : tq2Storage[0].byteCount
        var best = Double.infinity
        var index = 0
        let start = DispatchTime.now().uptimeNanoseconds
        repeat {
            let before = clock.seconds()
            try call(index)
            best = min(best, clock.seconds() - before)
            index = (index + 1) % engine.count
        } while Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 < seconds || index < 2
        return (best, bytes)
    }
}

/// Which clock times a kernel call.
enum BenchClock: String {
    case wall, threadCPU = "thread-cpu"

    var ternaryClock: TernaryMemoryBandwidth.Clock { self == .wall ? .wall : .threadCPU }
    func seconds() -> Double { ternaryClock.seconds() }
}

private extension QuantizedActivations {
    /// n tokens of reproducible activations.
    convenience init(tokens: Int, cols: Int, seed: Int) throws {
        var state = UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 | 1
        let x = (0..<tokens * cols).map { _ -> Float in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Float(Int(state % 2001) - 1000) / 100
        }
        try self.init(x, tokens: tokens, cols: cols)
    }
}
