import Foundation
import Logging
import Testing
import TernMesh
import TernModel
import TernNode
import TernTasks

/// A distributed fine-tune of the tiny model between task planes in one process: rounds of
/// train jobs on two workers, aggregated by the dispatcher; a worker that falsifies its
/// update is caught by re-execution, banned, and left out of the adapter.
@Suite final class FineTuneDispatchTests {
    let planes = InProcessMesh()

    func request(model: BlobID, dataset: BlobID, workers: Int = 2) -> FineTuneRequest {
        FineTuneRequest(
            model: model, dataset: dataset, rounds: 2, innerSteps: 2, workers: workers,
            training: TrainJobOptions(steps: 1, learningRate: 0.02, rank: 2, alpha: 4, modules: ["attn_q", "attn_v"],
                                      sequenceLength: 16, batchSize: 2, seed: 4),
            outerLearningRate: 1, outerMomentum: 0, verifyRate: 0)
    }

    func prepare(_ dispatcher: InProcessMesh.Node) throws -> (model: BlobID, dataset: BlobID) {
        let modelPath = planes.directory.appendingPathComponent("tiny.gguf").path
        try TinyTrainModel.writer(embedding: 16).write(to: modelPath)
        let datasetPath = planes.directory.appendingPathComponent("data.txt").path
        try String(repeating: "the quick brown fox jumps over the lazy dog. ", count: 12)
            .write(toFile: datasetPath, atomically: true, encoding: .utf8)
        return (try dispatcher.plane.store.add(fileAt: modelPath, kind: .model, name: "tiny", copy: false).id,
                try dispatcher.plane.store.add(fileAt: datasetPath, kind: .dataset, name: "data", copy: true).id)
    }

    @Test func twoWorkersTrainAlternatingFactorsAndEveryFirstResultIsChecked() async throws {
        let dispatcher = try await planes.start("dispatcher")
        let workers = [try await planes.start("w1"), try await planes.start("w2")]
        defer { for node in [dispatcher] + workers { node.compute.shutDown() } }
        let (model, dataset) = try prepare(dispatcher)
        let run = try FineTuneDispatcher(plane: dispatcher.plane, request: request(model: model, dataset: dataset),
                                         workers: workers.map { ($0.identity.nodeID, 1) }, logger: Logger(label: "dispatch"))
        let outcome = try await run.run()
        #expect(outcome.rounds.map(\.round) == [0, 1])
        #expect(outcome.rounds.map(\.factor) == ["B", "A"])
        #expect(outcome.rounds.allSatisfy { $0.workers.count == 2 && $0.tokens > 0 && $0.meanLoss.isFinite })
        #expect(outcome.bannedWorkers.isEmpty)
        #expect(dispatcher.plane.counts["finetune.verified"] == 2, "each worker's first result re-executed and matched")
        let adapter = try LoRAAdapterFile(file: try GGUFFile(bytes: outcome.adapter), path: "final").adapter
        #expect(adapter.sites.count == 4 && adapter.sites.allSatisfy { adapter.weights[$0]!.b.contains { $0 != 0 } })
        #expect(try dispatcher.ledger.credits().count == 2)
    }

    @Test func aWorkerThatFalsifiesItsUpdateIsBannedAndLeftOut() async throws {
        let dispatcher = try await planes.start("dispatcher")
        var liar = TaskPlaneSettings()
        liar.perturbTrainedAdapters = true
        let honest = [try await planes.start("h1"), try await planes.start("h2")]
        let cheat = try await planes.start("cheat", settings: liar)
        defer { for node in [dispatcher, cheat] + honest { node.compute.shutDown() } }
        let (model, dataset) = try prepare(dispatcher)
        // All three take a shard in the first round, so the cheat's first result is checked.
        let run = try FineTuneDispatcher(plane: dispatcher.plane, request: request(model: model, dataset: dataset, workers: 3),
                                         workers: ([cheat] + honest).map { ($0.identity.nodeID, 1) },
                                         logger: Logger(label: "dispatch"))
        let outcome = try await run.run()
        #expect(outcome.bannedWorkers == [cheat.identity.nodeID.hex])
        #expect(outcome.rounds.allSatisfy { !$0.workers.contains(cheat.identity.nodeID.hex) })
        #expect(dispatcher.plane.counts["finetune.mismatch"] == 1)
    }
}
