import ArgumentParser
import Foundation
import TernKernels
import TernModel

/// `tern bench model FILE`: prompt processing (pp) and text generation (tg) tokens/s as
/// llama-bench reports them, plus what decode speed is made of: weight bytes per token,
/// achieved GB/s against the memory bandwidth measured in the same run, the projections'
/// share of a decode step, load time (cold: repack and write the layout cache; cached: read
/// it back) and resident memory against the file's size.
struct BenchModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Prompt (pp) and generation (tg) tokens/s of a GGUF model, like llama-bench."
    )

    @Argument(help: "Path to a .gguf model.") var file: String
    @Flag(help: "Print JSON instead of a table.") var json = false
    @Option(help: "Kernel threads (default: one per CPU).") var threads: Int?
    @Option(name: .short, help: "Prompt tokens of the pp test (0 skips it).") var p = 512
    @Option(name: .short, help: "Decode steps of the tg test (0 skips it).") var n = 128
    @Option(help: "Timed runs of each test (after one warm-up).") var repetitions = 3
    @Flag(help: "Skip the memory bandwidth probe (1 GiB buffer).") var noBandwidth = false
    @Flag(help: "Multiply with the stored F32/F16/BF16 output head instead of its Q8_0 re-encoding.")
    var floatHead = false
    @Option(help: ArgumentHelp("Projection precision: int8, int16 (two int8 passes) or float32.", valueName: "int8|int16|float32"))
    var precision: MatmulPrecision = .int8Activations
    @Flag(help: "Load once, repacking, without the layout cache ($TERN_LAYOUT_CACHE, default ~/.cache/tern/layouts).")
    var noLayoutCache = false

    struct Report: Codable {
        let model: String
        let file_bytes: Int
        let threads: Int
        let float_head_as_q8_0: Bool
        let precision: String
        let pp_tokens: Int
        let tg_tokens: Int
        let repetitions: Int
        let pp_tps: Double?
        let pp_stddev: Double?
        let tg_tps: Double?
        let tg_stddev: Double?
        let weight_bytes_per_token: Int
        let decode_gbs: Double?
        let bandwidth_gbs: Double?
        let pct_bandwidth: Double?
        let decode_ms_per_token: Double?
        let projection_ms_per_token: Double
        let head_ms_per_token: Double
        /// Seconds to load with no usable layout cache: parse, hash, repack, write the cache.
        let load_seconds_cold: Double
        /// Seconds of the next load, from the cache file just written (nil: cache off).
        let load_seconds_cached: Double?
        let layout_cache: String
        let rss_after_load_bytes: Int?
        let rss_after_run_bytes: Int?
    }

    func run() throws {
        let pool = ThreadPool(threads: threads)
        let bandwidth = noBandwidth ? nil : TernaryMemoryBandwidth.measure(pool: pool)
        let model: TransformerModel, coldSeconds: Double, cachedSeconds: Double?
        if var cache = noLayoutCache ? nil : LayoutCache.forCommand {
            // Cold: the file for this model is rebuilt as if absent; the model is dropped
            // before the cached load, so the latter's resident memory is its own.
            cache.refresh = true
            coldSeconds = try Self.load(file, quantizeFloatHead: !floatHead, pool: pool, cache: cache).seconds
            cache.refresh = false
            let seconds: Double
            (model, seconds) = try Self.load(file, quantizeFloatHead: !floatHead, pool: pool, cache: cache)
            cachedSeconds = seconds
        } else {
            (model, coldSeconds) = try Self.load(file, quantizeFloatHead: !floatHead, pool: pool, cache: nil)
            cachedSeconds = nil
        }
        let rssLoaded = Self.residentBytes()
        let bench = try ModelBenchmark(model: model, pool: pool, configuration: .init(
            promptTokens: p, generatedTokens: n, repetitions: repetitions, precision: precision))
        let r = try bench.run()
        let rssRun = Self.residentBytes()
        let decodeSeconds = r.generation.map { 1 / $0.mean }
        let gbs = r.generation.map { Double(r.weightBytesPerToken) * $0.mean / 1e9 }
        let report = Report(
            model: file, file_bytes: model.file.fileSize, threads: pool.threadCount, float_head_as_q8_0: !floatHead,
            precision: precision.rawValue, pp_tokens: p, tg_tokens: n,
            repetitions: repetitions, pp_tps: r.prompt?.mean, pp_stddev: r.prompt?.standardDeviation,
            tg_tps: r.generation?.mean, tg_stddev: r.generation?.standardDeviation,
            weight_bytes_per_token: r.weightBytesPerToken, decode_gbs: gbs, bandwidth_gbs: bandwidth,
            pct_bandwidth: gbs.flatMap { g in bandwidth.map { 100 * g / $0 } },
            decode_ms_per_token: decodeSeconds.map { $0 * 1e3 }, projection_ms_per_token: r.projectionSecondsPerToken * 1e3,
            head_ms_per_token: r.headSecondsPerToken * 1e3,
            load_seconds_cold: coldSeconds, load_seconds_cached: cachedSeconds,
            layout_cache: model.layoutCacheOutcome.description,
            rss_after_load_bytes: rssLoaded, rss_after_run_bytes: rssRun)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(Self.render(report))
        }
    }

    static func render(_ r: Report) -> String {
        func mb(_ b: Int?) -> String { b.map { String(format: "%.1f MB", Double($0) / 1e6) } ?? "n/a" }
        var table = TablePrinter("MODEL", "SIZE", "THREADS", "PRECISION", "TEST", "T/S")
        let name = URL(fileURLWithPath: r.model).lastPathComponent
        if let pp = r.pp_tps, let sd = r.pp_stddev {
            table.add([name, mb(r.file_bytes), String(r.threads), r.precision, "pp\(r.pp_tokens)", String(format: "%.2f ± %.2f", pp, sd)])
        }
        if let tg = r.tg_tps, let sd = r.tg_stddev {
            table.add([name, mb(r.file_bytes), String(r.threads), r.precision, "tg\(r.tg_tokens)", String(format: "%.2f ± %.2f", tg, sd)])
        }
        var lines = [table.render()]
        var decode = "decode: \(mb(r.weight_bytes_per_token)) of weights per token"
        if let g = r.decode_gbs { decode += String(format: ", %.1f GB/s", g) }
        if let b = r.bandwidth_gbs, let pct = r.pct_bandwidth { decode += String(format: " = %.0f%% of %.1f GB/s measured", pct, b) }
        lines.append(decode)
        if let ms = r.decode_ms_per_token {
            let kernels = r.projection_ms_per_token + r.head_ms_per_token
            lines.append(String(format: "decode step %.2f ms: block projections %.2f ms, head %.2f ms, rest of the graph %.2f ms", ms,
                                r.projection_ms_per_token, r.head_ms_per_token, ms - kernels))
        }
        var load = String(format: "load %.2f s cold", r.load_seconds_cold)
        if let cached = r.load_seconds_cached { load += String(format: ", %.2f s cached", cached) }
        lines.append("\(load) (\(r.layout_cache))")
        lines.append("resident memory: \(mb(r.rss_after_load_bytes)) after load, \(mb(r.rss_after_run_bytes)) after the runs (file \(mb(r.file_bytes)))")
        return lines.joined(separator: "\n")
    }

    /// A model loaded from `path` and the seconds it took.
    static func load(_ path: String, quantizeFloatHead: Bool, pool: ThreadPool,
                     cache: LayoutCache?) throws -> (model: TransformerModel, seconds: Double) {
        let clock = ContinuousClock()
        let start = clock.now
        let model = try TransformerModel(path: path, quantizeFloatHead: quantizeFloatHead, pool: pool, layoutCache: cache)
        let d = clock.now - start
        return (model, Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
    }

    /// The process's resident set size from /proc/self/statm (nil where there is none).
    static func residentBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
