import Foundation
import Synchronization
import TernKernels
import TernMesh
import TernModel

/// A model a request named, resolved to files on this node.
public struct ResolvedModel: Sendable, Hashable {
    /// Identifies the loaded model: the base blob (and adapter blob) ids, so a name and its
    /// blob id share one engine.
    public var key: String
    public var modelPath: String
    public var adapterPath: String?

    public init(key: String, modelPath: String, adapterPath: String? = nil) {
        self.key = key; self.modelPath = modelPath; self.adapterPath = adapterPath
    }
}

/// Finds the files of a model a request names (`NAME`, a blob id, or `BASE:ADAPTER`); nil when
/// this node does not hold it.
public protocol ServedModelSource: Sendable {
    /// Runs for every request: should be cheap.
    func resolve(_ name: String) throws -> ResolvedModel?
    /// The files of a model about to be loaded (a source may resolve paths only here).
    func files(of model: ResolvedModel) throws -> ResolvedModel
}

extension ServedModelSource {
    public func files(of model: ResolvedModel) throws -> ResolvedModel { model }
}

/// Fixed files by name (tests, and nodes serving files outside the blob store).
public struct FileModelSource: ServedModelSource {
    public var models: [String: String]
    public var adapters: [String: String]

    public init(models: [String: String], adapters: [String: String] = [:]) {
        self.models = models; self.adapters = adapters
    }

    public func resolve(_ name: String) throws -> ResolvedModel? {
        if let path = models[name] { return ResolvedModel(key: path, modelPath: path) }
        guard let colon = name.lastIndex(of: ":"), let base = models[String(name[..<colon])],
              let adapter = adapters[String(name[name.index(after: colon)...])] else { return nil }
        return ResolvedModel(key: base + ":" + adapter, modelPath: base, adapterPath: adapter)
    }
}

/// The models in the node's blob store: a complete model blob by registered name or blob id,
/// optionally with `:ADAPTER`, an adapter blob by name or id. The blobs are pinned while an
/// engine serves them (never evicted from under it).
public struct BlobStoreModelSource: ServedModelSource {
    let store: BlobStore

    public init(store: BlobStore) { self.store = store }

    /// By ids only: paths (which re-verify a referenced file and touch the blob) are
    /// looked up when the model is loaded.
    public func resolve(_ name: String) throws -> ResolvedModel? {
        if let model = find(name, kind: .model) { return ResolvedModel(key: model.hex, modelPath: "") }
        guard let colon = name.lastIndex(of: ":"), let model = find(String(name[..<colon]), kind: .model),
              let adapter = find(String(name[name.index(after: colon)...]), kind: .adapter) else { return nil }
        return ResolvedModel(key: model.hex + ":" + adapter.hex, modelPath: "")
    }

    public func files(of model: ResolvedModel) throws -> ResolvedModel {
        let ids = model.key.split(separator: ":").compactMap { BlobID(hex: String($0)) }
        guard let base = ids.first else { throw CocoaError(.fileNoSuchFile) }
        return ResolvedModel(key: model.key, modelPath: try store.path(of: base),
                             adapterPath: try ids.count > 1 ? store.path(of: ids[1]) : nil)
    }

    /// Pins the blobs of a loaded model for as long as the node runs.
    func pin(_ model: ResolvedModel) {
        for part in model.key.split(separator: ":") {
            if let id = BlobID(hex: String(part)) { try? store.pin(id) }
        }
    }

    private func find(_ name: String, kind: BlobKind) -> BlobID? {
        guard !name.isEmpty else { return nil }
        let held = store.list().filter { $0.kind == kind && $0.complete }
        if let blob = held.first(where: { $0.id.hex == name.lowercased() }) { return blob.id }
        return held.sorted { $0.createdAt > $1.createdAt }.first { $0.name == name }?.id
    }
}

/// Serves completions on this node: one `ServingEngine` per model a request named, loaded on
/// first use (on a thread of its own, never the cooperative pool) and kept until the node
/// stops. Requests beyond `Settings.maxWaiting` waiting ones are refused (429), and every
/// request feeds the serving metrics of `NodeMetrics`.
public final class LocalServing: Sendable {
    public struct Settings: Sendable {
        /// Requests waiting for a batch slot (over all models) above which new ones get 429.
        public var maxWaiting = 64
        /// Seconds a refused client is told to wait.
        public var retryAfterSeconds = 1
        /// KV cache tokens per engine, shared by its sequences.
        public var cacheTokens = 8192
        /// Positions one request may fill (prompt and completion); at most the model's own.
        public var contextLength = 4096
        /// `max_tokens` when a request gives none.
        public var defaultMaxTokens = 256
        /// Streams decoded in one pass.
        public var maxSequences = ServingDefaults.maxSequences
        /// As `tern run` (int16 activations), so a greedy reply equals `tern run --temp 0`.
        public var precision: MatmulPrecision = .int16Activations
        /// Kernel threads per engine (nil: one per core).
        public var kernelThreads: Int?

        public init() {}
    }

    /// A loaded model and its engine.
    final class Loaded: Sendable {
        let engine: ServingEngine
        let tokenizer: Tokenizer
        let template: Result<ChatTemplate, ChatTemplate.Failure>

        init(engine: ServingEngine, tokenizer: Tokenizer, template: Result<ChatTemplate, ChatTemplate.Failure>) {
            self.engine = engine; self.tokenizer = tokenizer; self.template = template
        }
    }

    public let settings: Settings
    let source: any ServedModelSource
    let metrics: NodeMetrics
    private let engines = Mutex<[String: Task<Loaded, any Error>]>([:])
    private let counts = Mutex<(waiting: Int, streams: Int)>((0, 0))

    public init(source: any ServedModelSource, metrics: NodeMetrics, settings: Settings = Settings()) {
        self.source = source
        self.metrics = metrics
        self.settings = settings
    }

    /// The engine of the model `name` names, loading it on first use; nil when this node does
    /// not hold it.
    func engine(for name: String) async throws -> Loaded? {
        let resolved: ResolvedModel
        do {
            guard let found = try source.resolve(name) else { return nil }
            resolved = found
        } catch {
            throw OpenAIError(.serviceUnavailable, message: "The model '\(OpenAIError.clipped(name))' is not ready on this node.",
                              type: "server_error", param: "model", code: "model_unavailable")
        }
        let settings = settings
        let task = engines.withLock { engines in
            if let loading = engines[resolved.key] { return loading }
            let source = source
            let loading = Task<Loaded, any Error> {
                try await Self.offPool { try Self.load(try source.files(of: resolved), settings: settings) }
            }
            engines[resolved.key] = loading
            return loading
        }
        do {
            let loaded = try await task.value
            (source as? BlobStoreModelSource)?.pin(resolved)
            return loaded
        } catch {
            // A failed load is retried by the next request.
            engines.withLock { engines in
                if let current = engines[resolved.key], current == task { engines[resolved.key] = nil }
            }
            throw OpenAIError(.internalServerError, message: "The model '\(OpenAIError.clipped(name))' could not be loaded.",
                              type: "server_error", param: "model", code: "model_load_failed")
        }
    }

    static func load(_ resolved: ResolvedModel, settings: Settings) throws -> Loaded {
        let file = try GGUFFile(path: resolved.modelPath)
        let tokenizer = try Tokenizer(file: file)
        let pool = ThreadPool(threads: settings.kernelThreads)
        let adapter = try resolved.adapterPath.map { try LoRAAdapterFile.read(path: $0) }
        let environment = ProcessInfo.processInfo.environment
        let model = try TransformerModel(file: file, adapter: adapter, pool: pool,
                                         layoutCache: LayoutCache.standard(environment: environment, home: NSHomeDirectory()))
        let template: Result<ChatTemplate, ChatTemplate.Failure>
        do {
            template = .success(try ChatTemplate(file: file))
        } catch let failure as ChatTemplate.Failure {
            template = .failure(failure)
        }
        let context = max(2, min(model.parameters.contextLength, settings.contextLength))
        var configuration = ServingEngine.Configuration(cacheTokens: max(settings.cacheTokens, context), contextLength: context)
        configuration.precision = settings.precision
        configuration.maxSequences = settings.maxSequences
        let engine = ServingEngine(model: model, tokenizer: tokenizer, pool: pool, configuration: configuration)
        return Loaded(engine: engine, tokenizer: tokenizer, template: template)
    }

    /// Runs blocking work (a model load, tokenizing a long prompt) on a thread of its own.
    static func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try work() }) }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// Stops every engine (the daemon calls it on the way out).
    public func shutDown() async {
        let tasks = engines.withLock { engines in
            defer { engines.removeAll() }
            return Array(engines.values)
        }
        for task in tasks {
            if let loaded = try? await task.value { loaded.engine.shutDown() }
        }
    }

    /// Engines loaded so far, by key (tests read their statistics).
    public func engineStatistics() async -> [String: ServingEngine.Statistics] {
        let tasks = engines.withLock { $0 }
        var out: [String: ServingEngine.Statistics] = [:]
        for (key, task) in tasks {
            if let loaded = try? await task.value { out[key] = loaded.engine.statistics }
        }
        return out
    }

    // MARK: Running one request

    /// One request under way, here or on a peer: its events, and `cancel` for a client that
    /// went away.
    final class Run: Sendable {
        let events: AsyncStream<ServingEvent>
        /// The peer that took a forwarded request first (nil when this node serves it): the
        /// response names it in `X-Tern-Worker`.
        let worker: NodeID?
        private let ended = Mutex(false)
        private let stop: @Sendable () -> Void

        init(events: AsyncStream<ServingEvent>, worker: NodeID? = nil, stop: @escaping @Sendable () -> Void) {
            self.events = events; self.worker = worker; self.stop = stop
        }

        /// Stops the request and frees its blocks, unless it already ended.
        func cancel() {
            let wasRunning = ended.withLock { ended in defer { ended = true }; return !ended }
            guard wasRunning else { return }
            stop()
        }

        /// Its last event arrived: nothing left to cancel.
        func markEnded() { ended.withLock { $0 = true } }
    }

    /// Counts a request in `tern_completion_requests_total` (every outcome).
    func countRequest() { metrics.completionRequests.increment() }

    /// Queues `request` on `loaded`'s engine, or throws the OpenAI error the client gets (429
    /// when too many wait, 400 when the engine refuses it).
    func submit(_ request: ServingRequest, to loaded: Loaded, promptParam: String) throws -> Run {
        let started = ContinuousClock.now
        let admitted = counts.withLock { counts in
            guard counts.waiting < settings.maxWaiting else { return false }
            counts.waiting += 1
            return true
        }
        guard admitted else { throw OpenAIError.queueFull(retryAfterSeconds: settings.retryAfterSeconds) }
        publishDepth()
        let (events, continuation) = AsyncStream.makeStream(of: ServingEvent.self, bufferingPolicy: .unbounded)
        let first = Mutex(true)
        let metrics = metrics
        // Leaves the waiting count once: at the first event, a refusal or a cancellation.
        let leaveQueue: @Sendable () -> Void = { [weak self] in
            let wasFirst = first.withLock { value in defer { value = false }; return value }
            guard wasFirst, let self else { return }
            counts.withLock { $0.waiting -= 1 }
            publishDepth()
        }
        let id: UInt64
        do {
            id = try loaded.engine.submit(request) { event in
                leaveQueue()
                switch event {
                case .token:
                    metrics.tokensGenerated.increment()
                    continuation.yield(event)
                case .finished, .failed:
                    metrics.completionLatency.recordNanoseconds(Self.nanoseconds(started.duration(to: .now)))
                    continuation.yield(event)
                    continuation.finish()
                }
            }
        } catch {
            leaveQueue()
            throw OpenAIError(.badRequest, message: OpenAIError.clipped(error.description, to: 300), param: promptParam,
                              code: "context_length_exceeded")
        }
        let engine = loaded.engine
        let run = Run(events: events) {
            engine.cancel(id)
            leaveQueue()
            continuation.finish()
        }
        continuation.onTermination = { reason in
            if case .cancelled = reason { run.cancel() }
        }
        return run
    }

    private func publishDepth() {
        metrics.queueDepth.set(Double(counts.withLock { $0.waiting }))
    }

    /// Counts a stream for `tern_active_streams` while `body` runs.
    func streaming<T>(_ body: () async throws -> T) async rethrows -> T {
        metrics.activeStreams.set(Double(counts.withLock { counts in counts.streams += 1; return counts.streams }))
        defer { metrics.activeStreams.set(Double(counts.withLock { counts in counts.streams -= 1; return counts.streams })) }
        return try await body()
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        Int64(clamping: duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }
}
