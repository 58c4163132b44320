import ArgumentParser
import Foundation
import TernKernels
import TernModel

/// `tern bench serve MODEL --streams N`: N concurrent requests through the serving engine
/// (the scheduler the daemon uses), against one request alone in the same run.
///
/// - `single_stream_tps`: decode tokens/s of one request alone (after its first token).
/// - `aggregate_tps`: tokens/s of all streams together while every one of them is decoding
///   (from the moment the last stream got its first token to the moment the first one got
///   its last), the steady state that continuous batching is for; `end_to_end_tps` counts
///   every generated token over the whole run, prefills included.
/// - `p50_ttft_ms`: median time from submission to a stream's first token; `p99_itl_ms`: the
///   99th percentile of the gaps between a stream's tokens.
/// - `bandwidth_gbs`: the memory read bandwidth measured in the same run; `single_pct_bandwidth`
///   is the single stream's weight traffic against it.
struct BenchServe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Concurrent requests through the serving engine (continuous batching) against one alone.",
        discussion: """
        Prompts are random token ids (seeded), every stream generates exactly --gen-tokens \
        tokens (end-of-generation tokens do not stop it), greedy. Streams start together.
        """
    )

    @Argument(help: "Path to a .gguf model.") var file: String
    @Option(help: "Concurrent requests.") var streams = 8
    @Option(help: "Prompt tokens per request.") var promptTokens = 128
    @Option(help: "Tokens generated per request.") var genTokens = 128
    @Option(help: "Kernel threads (default: one per CPU).") var threads: Int?
    @Option(help: "Rows per forward pass (decode rows plus prefill chunks).") var batchTokens = ServingDefaults.maxBatchTokens
    @Option(help: ArgumentHelp("Projection precision: int8, int16 (two int8 passes) or float32.", valueName: "int8|int16|float32"))
    var precision: MatmulPrecision = .int8Activations
    @Flag(help: "Skip the memory bandwidth probe (1 GiB buffer).") var noBandwidth = false
    @Flag(help: "Print JSON instead of a table.") var json = false

    struct Report: Codable {
        let model: String
        let threads: Int
        let precision: String
        let streams: Int
        let prompt_tokens: Int
        let gen_tokens: Int
        let batch_tokens: Int
        let single_stream_tps: Double
        let aggregate_tps: Double
        let end_to_end_tps: Double
        let speedup: Double
        let p50_ttft_ms: Double
        let p99_itl_ms: Double
        let single_ttft_ms: Double
        let passes: Int
        let weight_bytes_per_pass: Int
        let bandwidth_gbs: Double?
        let single_pct_bandwidth: Double?
        let seconds: Double
    }

    func validate() throws {
        guard streams >= 1, promptTokens >= 1, genTokens >= 2, batchTokens >= 1 else {
            throw ValidationError("--streams, --prompt-tokens and --batch-tokens must be at least 1, --gen-tokens at least 2")
        }
    }

    func run() throws {
        let pool = ThreadPool(threads: threads)
        let bandwidth = noBandwidth ? nil : TernaryMemoryBandwidth.measure(pool: pool)
        let gguf = try GGUFFile(path: file)
        let model = try TransformerModel(file: gguf, quantizeFloatHead: true, pool: pool, layoutCache: LayoutCache.forCommand)
        let tokenizer = try Tokenizer(file: gguf)
        var configuration = ServingEngine.Configuration(cacheTokens: streams * (promptTokens + genTokens + 16),
                                                        contextLength: promptTokens + genTokens + 1)
        configuration.maxBatchTokens = batchTokens
        configuration.maxSequences = max(streams, 1)
        configuration.precision = precision
        let engine = ServingEngine(model: model, tokenizer: tokenizer, pool: pool, configuration: configuration)
        defer { engine.shutDown() }
        var random = RandomSource(seed: 7)
        func prompt() -> [Int32] { (0..<promptTokens).map { _ in Int32(random.next() % UInt64(model.vocabularySize)) } }
        func request(_ tokens: Int) -> ServingRequest {
            ServingRequest(prompt: prompt(), maxTokens: tokens, stopsAtEndOfGeneration: false)
        }

        progress("warming up")
        _ = try Self.runStreams([request(4)], engine: engine)
        progress("1 stream: \(promptTokens) prompt tokens, \(genTokens) generated")
        let single = try Self.runStreams([request(genTokens)], engine: engine)
        progress("\(streams) streams")
        let passesBefore = engine.statistics.passes
        let many = try Self.runStreams((0..<streams).map { _ in request(genTokens) }, engine: engine)
        let passes = engine.statistics.passes - passesBefore

        let singleTPS = single.decodeRate
        let aggregate = streams == 1 ? singleTPS : many.steadyRate
        let weightBytes = engine.weightBytesPerPass
        let report = Report(
            model: file, threads: pool.threadCount, precision: precision.rawValue, streams: streams,
            prompt_tokens: promptTokens, gen_tokens: genTokens, batch_tokens: batchTokens,
            single_stream_tps: singleTPS, aggregate_tps: aggregate, end_to_end_tps: many.endToEndRate,
            speedup: aggregate / singleTPS, p50_ttft_ms: many.percentile(\.ttfts, 0.5) * 1e3,
            p99_itl_ms: many.percentile(\.gaps, 0.99) * 1e3, single_ttft_ms: single.ttfts[0] * 1e3,
            passes: passes, weight_bytes_per_pass: weightBytes, bandwidth_gbs: bandwidth,
            single_pct_bandwidth: bandwidth.map { 100 * Double(weightBytes) * singleTPS / 1e9 / $0 },
            seconds: many.seconds)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(Self.render(report))
        }
    }

    private func progress(_ text: String) {
        guard !json else { return }
        FileHandle.standardError.write(Data("bench serve: \(text)…\n".utf8))
    }

    static func render(_ r: Report) -> String {
        var table = TablePrinter("STREAMS", "SINGLE T/S", "AGGREGATE T/S", "SPEEDUP", "END-TO-END T/S", "P50 TTFT", "P99 ITL")
        table.add([String(r.streams), String(format: "%.2f", r.single_stream_tps), String(format: "%.2f", r.aggregate_tps),
                   String(format: "%.2f×", r.speedup), String(format: "%.2f", r.end_to_end_tps),
                   String(format: "%.0f ms", r.p50_ttft_ms), String(format: "%.0f ms", r.p99_itl_ms)])
        var lines = [table.render()]
        lines.append("\(URL(fileURLWithPath: r.model).lastPathComponent), \(r.threads) threads, \(r.precision); "
            + "\(r.prompt_tokens) prompt + \(r.gen_tokens) generated tokens per stream, \(r.batch_tokens) rows per pass, "
            + "\(r.passes) passes in \(String(format: "%.1f", r.seconds)) s")
        var traffic = String(format: "weights %.1f MB per pass", Double(r.weight_bytes_per_pass) / 1e6)
        if let b = r.bandwidth_gbs, let pct = r.single_pct_bandwidth {
            traffic += String(format: "; one stream reads them at %.0f%% of the %.1f GB/s measured", pct, b)
        }
        lines.append(traffic)
        return lines.joined(separator: "\n")
    }

    /// When each stream's tokens arrived, relative to the common submission.
    struct Timeline {
        /// Seconds from submission to each token, per stream.
        let arrivals: [[Double]]
        let seconds: Double

        var ttfts: [Double] { arrivals.map { $0.first ?? .nan } }
        var gaps: [Double] { arrivals.flatMap { a in zip(a.dropFirst(), a).map { $0 - $1 } } }
        /// Tokens after the first over the time they took (one stream).
        var decodeRate: Double {
            guard let a = arrivals.first, a.count > 1 else { return 0 }
            return Double(a.count - 1) / (a.last! - a.first!)
        }
        /// Tokens of all streams between the last first token and the first last token.
        var steadyRate: Double {
            let start = arrivals.map { $0.first! }.max()!, end = arrivals.map { $0.last! }.min()!
            guard end > start else { return endToEndRate }
            let tokens = arrivals.reduce(0) { $0 + $1.filter { $0 > start && $0 <= end }.count }
            return Double(tokens) / (end - start)
        }
        var endToEndRate: Double { Double(arrivals.reduce(0) { $0 + $1.count }) / seconds }

        func percentile(_ values: KeyPath<Timeline, [Double]>, _ p: Double) -> Double {
            let sorted = self[keyPath: values].sorted()
            guard !sorted.isEmpty else { return 0 }
            return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
        }
    }

    /// Submits every request at once and waits until all have ended.
    static func runStreams(_ requests: [ServingRequest], engine: ServingEngine) throws -> Timeline {
        final class Recorder: @unchecked Sendable {
            let lock = NSLock()
            var arrivals: [[Double]]
            var failure: String?
            let done = DispatchGroup()
            init(_ n: Int) { arrivals = Array(repeating: [], count: n) }
        }
        let recorder = Recorder(requests.count)
        let clock = ContinuousClock()
        let start = clock.now
        let elapsed: @Sendable () -> Double = {
            let d = clock.now - start
            return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        }
        for (index, request) in requests.enumerated() {
            recorder.done.enter()
            try engine.submit(request) { event in
                recorder.lock.lock()
                defer { recorder.lock.unlock() }
                switch event {
                case .token: recorder.arrivals[index].append(elapsed())
                case .finished: recorder.done.leave()
                case .failed(let reason):
                    recorder.failure = reason
                    recorder.done.leave()
                }
            }
        }
        recorder.done.wait()
        if let failure = recorder.failure { throw RuntimeError.badBenchmark(failure) }
        return Timeline(arrivals: recorder.arrivals, seconds: elapsed())
    }
}
