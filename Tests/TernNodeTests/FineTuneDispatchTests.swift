import Foundation
import Logging
import Testing
import TernMesh
import TernModel
import TernNode
import TernKernels
import TernLedger
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
            factors: .alternating, outerLearningRate: 1, outerMomentum: 0, verifyRate: 0)
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

    /// A worker that cheats mid-job and keeps its step hashes consistent is caught only by the
    /// re-execution: in its own kernel class (published in its profile) the adapters must
    /// match bit for bit, and the step hashes name the step where the runs parted. Its credit
    /// for the task is taken back.
    @Test func aWorkerThatFalsifiesItsUpdateIsBannedAndLeftOut() async throws {
        let (outcome, dispatcher, cheat) = try await dispatch(withCheat: .perturbUpdate, publishKernelClass: true)
        #expect(outcome.bannedWorkers == [cheat])
        #expect(outcome.rounds.allSatisfy { !$0.workers.contains(cheat) })
        #expect(dispatcher.plane.counts["finetune.mismatch"] == 1)
        let failed = outcome.checks.filter { !$0.matched }
        #expect(failed.count == 1 && failed[0].worker == cheat && failed[0].firstDivergentStep == 1, "\(outcome.checks)")
        #expect(failed.first?.kernelClass == KernelClass.native.name && failed.first?.relativeDifference == nil)
        let credit = try #require(try dispatcher.ledger.credits().first { $0.nodeID == cheat })
        #expect(credit.jobsRevoked == 1 && credit.jobsAccepted == 0 && credit.tokensAccepted == 0, "\(credit)")
        let receipts = try dispatcher.ledger.receipts().filter { $0.workerNodeID == cheat }
        #expect(receipts.count == 1 && receipts[0].revokedReason != nil)
    }

    /// A worker whose kernel class this node cannot run (here: none published) is held to the
    /// tolerance on its update; the honest ones pass it, the cheat does not.
    @Test func withoutAClassInCommonTheUpdateIsHeldToTheTolerance() async throws {
        let (outcome, _, cheat) = try await dispatch(withCheat: .perturbUpdate, publishKernelClass: false)
        #expect(outcome.bannedWorkers == [cheat])
        #expect(outcome.checks.allSatisfy { $0.relativeDifference != nil && $0.firstDivergentStep == nil }, "\(outcome.checks)")
        #expect(outcome.checks.allSatisfy { $0.matched == ($0.worker != cheat) }, "\(outcome.checks)")
        #expect(outcome.checks.filter(\.matched).allSatisfy { $0.relativeDifference == 0 }, "same class here: no rounding difference")
    }

    /// Once a worker has passed a check, a later check can go to it (idle, same kernel class)
    /// instead of the dispatcher's own compute.
    @Test func laterChecksAreRunByAnIdlePeerThatPassedOne() async throws {
        let dispatcher = try await planes.start("dispatcher")
        let workers = [try await planes.start("p1"), try await planes.start("p2"), try await planes.start("p3")]
        defer { for node in [dispatcher] + workers { node.compute.shutDown() } }
        let (model, dataset) = try prepare(dispatcher)
        try publishKernelClasses(of: workers, to: dispatcher)
        var checked = request(model: model, dataset: dataset, workers: 3)
        checked.verifyRate = 1
        let run = try FineTuneDispatcher(plane: dispatcher.plane, request: checked, workers: workers.map { ($0.identity.nodeID, 1) },
                                         logger: Logger(label: "dispatch"))
        let outcome = try await run.run()
        #expect(outcome.bannedWorkers.isEmpty && outcome.checks.allSatisfy(\.matched) && outcome.checks.count == 6)
        #expect(outcome.checks.first?.verifier == nil, "until a worker has passed a check, checks run here")
        let byPeers = outcome.checks.filter { $0.verifier != nil }
        #expect(!byPeers.isEmpty && byPeers.allSatisfy { $0.verifier != $0.worker }, "\(outcome.checks)")
    }

    /// A worker whose returned adapter is not the one its signed step chain ends in is refused
    /// before its receipt is countersigned, and banned without a re-execution.
    @Test func aWorkerThatReturnsAnotherAdapterThanItsChainIsRefusedUnchecked() async throws {
        let (outcome, dispatcher, cheat) = try await dispatch(withCheat: .tamperOutput)
        #expect(outcome.bannedWorkers == [cheat])
        #expect(outcome.rounds.allSatisfy { !$0.workers.contains(cheat) })
        #expect(dispatcher.plane.counts["task.resultRefused"] == 1)
        #expect(dispatcher.plane.counts["finetune.mismatch"] == nil)
        let credit = try #require(try dispatcher.ledger.credits().first { $0.nodeID == cheat })
        #expect(credit.jobsAccepted == 0 && credit.jobsRejected >= 1, "\(credit)")
    }

    /// Runs two rounds over two honest workers and one with `fault`; returns the outcome, the
    /// dispatcher and the cheat's id. With `publishKernelClass` the dispatcher knows each
    /// worker's profile (as gossip would tell it) and so its kernel class.
    private func dispatch(withCheat fault: TrainFault, publishKernelClass: Bool = true)
        async throws -> (FineTuneOutcome, InProcessMesh.Node, String) {
        let dispatcher = try await planes.start("dispatcher")
        var liar = TaskPlaneSettings()
        liar.trainFault = fault
        let honest = [try await planes.start("h1"), try await planes.start("h2")]
        let cheat = try await planes.start("cheat", settings: liar)
        // The dispatcher's ledger stays readable after its compute threads stop.
        defer { for node in [dispatcher, cheat] + honest { node.compute.shutDown() } }
        let (model, dataset) = try prepare(dispatcher)
        if publishKernelClass { try publishKernelClasses(of: [cheat] + honest, to: dispatcher) }
        // All three take a shard in the first round, so the cheat's first result is checked.
        let run = try FineTuneDispatcher(plane: dispatcher.plane, request: request(model: model, dataset: dataset, workers: 3),
                                         workers: ([cheat] + honest).map { ($0.identity.nodeID, 1) },
                                         logger: Logger(label: "dispatch"))
        let outcome = try await run.run()
        return (outcome, dispatcher, cheat.identity.nodeID.hex)
    }

    /// What gossip would have told the dispatcher: each worker's profile, with its kernel class.
    private func publishKernelClasses(of workers: [InProcessMesh.Node], to dispatcher: InProcessMesh.Node) throws {
        for worker in workers {
            try dispatcher.ledger.storeProfile(ProfileRecord(
                nodeID: worker.identity.nodeID.hex, version: 1, signedBytes: Data(), deviceClass: "server", cores: 1,
                ramBytes: 1 << 30, isa: [], kernelClass: KernelClass.native.name, gpusJSON: "[]", gops: 1, receivedAt: Date()))
        }
    }
}
