import Foundation
import Logging
import Testing
import TernKernels
import TernLedger
import TernMesh
import TernModel
import TernNode

/// Completions forwarded over `task/1` between task planes in one process: node R holds no
/// model and serves its API through `MeshCompletions`; workers A (ranked first) and B hold
/// the demo model. A fails the way a hostile or dying peer does, and the client still gets
/// exactly the completion a local run gives — same seed, same continuation — from B.
@Suite(.serialized) struct MeshCompletionsTests {
    static let faults: [CompletionFault] = [.vanishAfter(tokens: 3), .forgeReceipt, .overrun]

    /// What a local run of `prompt` gives with the API's sampling (temperature and seed only).
    static func localRun(_ prompt: String, maxTokens: Int, temperature: Float, seed: UInt64) throws -> GenerationResult {
        let file = try GGUFFile(path: try TaskPlaneProcessTests.demoModel())
        let tokenizer = try Tokenizer(file: file)
        let model = try TransformerModel(file: file)
        var sampling = SamplingConfiguration()
        sampling.temperature = temperature
        sampling.topP = 1
        sampling.topK = 0
        sampling.minP = 0
        sampling.repetitionPenalty = 1
        sampling.seed = seed
        let session = InferenceSession(model: model, contextLength: 1024, pool: ThreadPool(threads: 2), precision: .int16Activations)
        return try Generator(session: session, tokenizer: tokenizer)
            .generate(prompt: tokenizer.encode(prompt), sampling: sampling, maxTokens: maxTokens)
    }

    /// A signed profile of `node` listing `model`, as gossip would have stored it at `at`.
    static func advertise(_ node: InProcessMesh.Node, holding model: BlobID, bandwidth: Double, at observer: InProcessMesh.Node) throws {
        let hardware = try HardwareDetector().detect()
        let profile = ProfileBuilder.profile(for: node.identity.nodeID, version: 1, hardware: hardware, ternaryGOPS: 100,
                                             memoryGBPerSecond: bandwidth, modelHashes: [model.bytes])
        let signed = try SignedProfile(profile: profile, signer: node.identity)
        _ = try observer.ledger.storeProfile(ProfileBuilder.record(of: signed, receivedAt: Date()))
    }

    @Test(arguments: faults)
    func aFailingWorkerIsReplacedWithoutTheClientNoticing(_ fault: CompletionFault) async throws {
        let mesh = InProcessMesh()
        var faulty = TaskPlaneSettings()
        faulty.completionFault = fault
        let serving: (BlobStore) -> LocalServing = {
            LocalServing(source: BlobStoreModelSource(store: $0), metrics: NodeMetrics(), settings: CompletionsAPITests.settings())
        }
        let workerA = try await mesh.start("a", settings: faulty, serving: serving)
        let workerB = try await mesh.start("b", serving: serving)
        let requester = try await mesh.start("r")
        let path = try TaskPlaneProcessTests.demoModel()
        var blob: BlobID?
        for worker in [workerA, workerB] {
            blob = try worker.plane.store.add(fileAt: path, kind: .model, name: "smol", copy: false).id
        }
        let model = try #require(blob)
        try Self.advertise(workerA, holding: model, bandwidth: 90, at: requester)
        try Self.advertise(workerB, holding: model, bandwidth: 50, at: requester)

        let metrics = NodeMetrics()
        let local = LocalServing(source: FileModelSource(models: [:]), metrics: metrics, settings: CompletionsAPITests.settings())
        let forwarding = MeshCompletions(plane: requester.plane, metrics: metrics, logger: Logger(label: "r"))
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = APIServer.application(
            address: HostPort(host: "127.0.0.1", port: 0), key: nil, observer: LoneObserver(), metrics: metrics,
            logger: Logger(label: "test"), routes: { local.addRoutes(to: $0, mesh: forwarding) }, onListening: { continuation.yield($0) })
        // Off the cooperative pool, which the planes' handshakes need.
        let expected = try await Subprocess.offPool {
            try Self.localRun("Once upon a time", maxTokens: 12, temperature: 0.9, seed: 5)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            defer { group.cancelAll() }
            let body = #"{"model": "\#(model.hex)", "prompt": "Once upon a time", "max_tokens": 12, "temperature": 0.9, "seed": 5}"#
            let reply = try await CompletionsAPITests.post("http://127.0.0.1:\(port)/v1/completions", body)
            #expect(reply.status == 200, "\(reply.text)")
            // A accepted it (it ranks first); B finished it.
            #expect(reply.headers["x-tern-worker"] == workerA.identity.nodeID.fingerprint)
            let choice = try #require((try reply.json()["choices"] as? [[String: Any]])?.first)
            #expect(choice["text"] as? String == expected.text)
            let usage = try #require(try reply.json()["usage"] as? [String: Any])
            #expect(usage["completion_tokens"] as? Int == expected.tokens.count)
            #expect(usage["prompt_tokens"] as? Int == expected.promptTokenCount)
            #expect(metrics.render(NodeActivity()).contains("tern_mesh_failovers_total 1"))

            // B is credited with the part it generated; a forger is recorded as rejected.
            let creditB = try #require(try requester.ledger.credit(nodeID: workerB.identity.nodeID.hex))
            #expect(creditB.jobsAccepted == 1)
            let creditA = try requester.ledger.credit(nodeID: workerA.identity.nodeID.hex)
            if fault != .vanishAfter(tokens: 3) {
                #expect(creditA?.jobsRejected == 1 && creditA?.jobsAccepted ?? 0 == 0)
                #expect(creditB.tokensAccepted == 0, "B only replayed A's tokens and finished at once")
                #expect(expected.finishReason == .length, "an overrun is caught only past the budget")
            } else {
                #expect(creditA?.jobsAccepted ?? 0 == 0)
                #expect(creditB.tokensAccepted == Int64(expected.tokens.count - 3))
            }
            // The next request goes to B first: A failed lately.
            let again = try await CompletionsAPITests.post("http://127.0.0.1:\(port)/v1/completions", body)
            #expect(again.headers["x-tern-worker"] == workerB.identity.nodeID.fingerprint)
            #expect((try again.json()["choices"] as? [[String: Any]])?.first?["text"] as? String == expected.text)
        }
        await local.shutDown()
        for worker in [workerA, workerB] { await worker.plane.serving?.shutDown() }
    }
}
