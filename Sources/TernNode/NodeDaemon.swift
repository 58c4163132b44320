import Foundation
import Logging
import ServiceLifecycle
import TernLedger
import TernMesh

/// Starts everything a node runs — identity, ledger, mesh runtime, control API — and keeps
/// it running until SIGINT or SIGTERM, then leaves the mesh gracefully.
public enum NodeDaemon {
    public static func run(directory: NodeDirectory, configuration: NodeConfiguration, logger: Logger) async throws {
        try directory.create()
        try refuseSecondDaemon(in: directory)
        let identity = try NodeIdentity.loadOrCreate(inDirectory: directory.url.path)
        let ledger = try Ledger.open(path: directory.ledgerFile.path)
        let hardware = try HardwareDetector(deviceClassOverride: configuration.deviceClassOverride()).detect()
        let runtime = try MeshRuntime(identity: identity, ledger: ledger, configuration: configuration,
                                      directory: directory.url, logger: logger)
        // Model work runs here, never on the cooperative pool that gossip and handshakes need.
        let compute = ComputeExecutor()
        defer { compute.shutDown() }
        let store = try BlobStore(directory: directory.blobsDirectory, ledger: ledger, quotaBytes: configuration.blobQuotaBytes)
        // One registry per daemon (never the process-global metrics system): the
        // serving engine records its tokens, queue and latencies into the same object.
        let metrics = NodeMetrics()
        // Completions on the models this node holds, one serving engine per model loaded on
        // first use: for its own API clients and for the ones peers forward.
        let serving = LocalServing(source: BlobStoreModelSource(store: store), metrics: metrics,
                                   settings: configuration.servingSettings)
        let tasks = TaskPlane(runtime: runtime, store: store, ledger: ledger, compute: compute,
                              settings: configuration.taskPlaneSettings, logger: logger, serving: serving)
        await runtime.serveStreams(TaskProtocol.all) { await tasks.handle($0) }
        let fineTunes = FineTuneTasks(plane: tasks, logger: logger)
        // A fine-tune this node was dispatching when it stopped picks up where it was.
        Task { await fineTunes.resumeUnfinished() }
        try await runtime.bind()
        let cached = ThroughputProbe.cached(in: directory, hardware: hardware)
        let profiles = ProfilePublisher(identity: identity, hardware: hardware, store: store, runtime: runtime, throughput: cached)
        if cached == nil {
            // Measure off the start-up path: the node joins at once and re-publishes its
            // profile with the figures when they are ready.
            Task.detached(priority: .background) {
                guard let measured = try? await compute.run({
                    ThroughputProbe.measureAndCache(in: directory, hardware: hardware)
                }) else { return }
                await profiles.measured(measured)
            }
        }
        let initialProfile = profiles.current()

        let apiKey = try configuration.apiKey()
        let token = ControlToken.generate()
        try token.write(to: directory.controlTokenFile)
        let endpointFile = directory.controlEndpointFile
        let control = RuntimeControl(runtime: runtime, tasks: tasks, profiles: profiles, fineTunes: fineTunes,
                                     dataDirectory: directory.url.path)
        let app = ControlServer.application(
            handler: control,
            token: token, port: configuration.controlPort, logger: logger,
            onListening: { port in
                let endpoint = ControlEndpoint(port: port, pid: getpid())
                if let data = try? ControlJSON.encoder.encode(endpoint) {
                    FileManager.default.createFile(atPath: endpointFile.path, contents: data,
                                                   attributes: [.posixPermissions: 0o600])
                }
                logger.info("node \(identity.nodeID.fingerprint) up", metadata: [
                    "gossip": "\(configuration.listen)", "control": "127.0.0.1:\(port)",
                    "class": "\(hardware.deviceClass)", "cores": "\(hardware.logicalCores)"])
            })
        let mesh = MeshService(runtime: runtime, profile: initialProfile)
        var services: [any Service] = [mesh, app]
        let apiEndpointFile = directory.apiEndpointFile
        try? FileManager.default.removeItem(at: apiEndpointFile)
        if let api = configuration.api {
            let observer = RuntimeObserver(control: control, ledger: ledger, compute: compute)
            let forwarding = MeshCompletions(plane: tasks, metrics: metrics, logger: logger)
            services.append(APIServer.application(
                address: api, key: apiKey, observer: observer, metrics: metrics, logger: logger,
                routes: { serving.addRoutes(to: $0, mesh: forwarding) },
                onListening: { port in
                    let endpoint = APIEndpoint(host: api.host, port: port, pid: getpid())
                    if let data = try? ControlJSON.encoder.encode(endpoint) {
                        FileManager.default.createFile(atPath: apiEndpointFile.path, contents: data,
                                                       attributes: [.posixPermissions: 0o644])
                    }
                    logger.info("API listening", metadata: [
                        "api": "\(endpoint.baseURL)", "key": "\(apiKey == nil ? "none" : "required")"])
                }))
        }
        let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        defer {
            try? FileManager.default.removeItem(at: endpointFile)
            try? FileManager.default.removeItem(at: apiEndpointFile)
        }
        try await group.run()
        await serving.shutDown()
        // Downloads in progress keep every chunk they verified (the bitmap is otherwise
        // committed every few dozen chunks).
        try? store.flush()
    }

    /// Two daemons on one data directory would fight over its ledger and identity.
    private static func refuseSecondDaemon(in directory: NodeDirectory) throws {
        guard let data = FileManager.default.contents(atPath: directory.controlEndpointFile.path),
              let endpoint = try? ControlJSON.decoder.decode(ControlEndpoint.self, from: data) else { return }
        if endpoint.pid != getpid(), kill(endpoint.pid, 0) == 0 {
            throw NodeError.alreadyRunning(pid: endpoint.pid, directory: directory.url.path)
        }
    }
}

/// The mesh runtime as a lifecycle service: runs until graceful shutdown, then leaves.
struct MeshService: Service {
    let runtime: MeshRuntime
    let profile: HardwareProfile

    func run() async throws {
        try await cancelWhenGracefulShutdown { [runtime, profile] in
            try await runtime.run(profile: profile)
        }
    }
}

/// Answers the control API from the running mesh runtime.
struct RuntimeControl: ControlHandler {
    let runtime: MeshRuntime
    let tasks: TaskPlane
    let profiles: ProfilePublisher
    let fineTunes: FineTuneTasks
    let dataDirectory: String

    func status() async -> NodeStatusReply {
        var status = await runtime.status(dataDirectory: dataDirectory)
        for (reason, count) in tasks.counts { status.dropped[reason, default: 0] += count }
        return status
    }

    func peers() async -> [PeerRow] { (try? await runtime.peers()) ?? [] }

    func join(address: String) async throws -> JoinReply {
        let target = try BootstrapPeer(parsing: address)
        let members = try await runtime.join(through: target)
        return JoinReply(message: "joined through \(target): \(members) members known")
    }

    func addBlob(_ request: BlobAddRequest) async throws -> BlobInfo {
        guard let kind = BlobKind(name: request.kind) else { throw TaskFailure(.badRequest, "unknown blob kind \(request.kind)") }
        // Models are referenced where they lie (verified when opened); other kinds are copied.
        let reference = request.reference ?? (kind == .model)
        let info = try tasks.store.add(fileAt: request.path, kind: kind, name: request.name, copy: !reference)
        if kind == .model { await profiles.publish() }
        return info
    }

    func getBlob(_ request: BlobGetRequest) async throws -> BlobFetchReport {
        guard let id = BlobID(hex: request.id) else { throw TaskFailure(.badRequest, "not a blob id: \(request.id)") }
        let report = try await tasks.fetch(id, kind: request.kind.flatMap(BlobKind.init(name:)) ?? .model, name: request.name)
        if let out = request.out { try tasks.store.export(id, to: out) }
        if tasks.store.info(id)?.kind == .model { await profiles.publish() }
        return report
    }

    func blobs() async throws -> [BlobInfo] { tasks.store.list() }

    func removeBlob(_ id: String) async throws {
        guard let blob = BlobID(hex: id) else { throw TaskFailure(.badRequest, "not a blob id: \(id)") }
        let wasModel = tasks.store.info(blob)?.kind == .model
        try tasks.store.remove(blob)
        if wasModel { await profiles.publish() }
    }

    func generate(_ request: GenerateJobRequest) async throws -> JobRunReply {
        guard let model = BlobID(hex: request.model) else { throw TaskFailure(.badRequest, "not a blob id: \(request.model)") }
        let worker = try await tasks.peer(matching: request.peer)
        return try await tasks.runGenerate(on: worker, model: model, options: GenerateOptions(
            prompt: request.prompt, maxTokens: request.maxTokens, temperature: request.temperature,
            seed: request.seed, chat: request.chat))
    }

    func dispatchFineTune(_ request: FineTuneDispatchRequest) async throws -> FineTuneStatus {
        try await fineTunes.dispatch(request)
    }

    func fineTuneStatus(_ id: String?) async throws -> [FineTuneStatus] { try fineTunes.status(id) }

    func cancelFineTune(_ id: String) async throws -> FineTuneStatus { try fineTunes.cancel(id) }
}
