import Foundation
import Logging
import Testing
import TernLedger
import TernMesh
import TernNode

/// Train jobs between two task planes in one process, over real secure streams: the worker
/// fetches the model and dataset from the requester, trains, and returns an adapter equal to
/// a local run, with a receipt both ledgers keep; a second job while the only slot is taken
/// is refused as busy.
@Suite final class TrainJobPeerTests {
    let planes = InProcessMesh()
    var directory: URL { planes.directory }
    var mesh: MeshID { planes.mesh }

    func start(_ name: String, settings: TaskPlaneSettings = TaskPlaneSettings()) async throws -> InProcessMesh.Node {
        try await planes.start(name, settings: settings)
    }

    func options(steps: Int = 3) -> TrainJobOptions {
        TrainJobOptions(steps: steps, learningRate: 0.01, rank: 2, alpha: 4, modules: ["attn_q", "attn_v"],
                        sequenceLength: 16, batchSize: 2, seed: 9)
    }

    @Test func aPeerTrainsOnBlobsItFetchesAndReturnsTheLocalRunsAdapter() async throws {
        let requester = try await start("requester")
        let worker = try await start("worker")
        defer { for node in [requester, worker] { node.compute.shutDown() } }
        let modelPath = directory.appendingPathComponent("tiny.gguf").path
        try TinyTrainModel.writer(embedding: 16).write(to: modelPath)
        let datasetPath = directory.appendingPathComponent("data.txt").path
        try String(repeating: "the quick brown fox jumps over the lazy dog. ", count: 8).write(toFile: datasetPath, atomically: true, encoding: .utf8)
        let model = try requester.plane.store.add(fileAt: modelPath, kind: .model, name: "tiny", copy: false)
        let dataset = try requester.plane.store.add(fileAt: datasetPath, kind: .dataset, name: "data", copy: true)

        let steps = Locked<[Int]>([])
        let outcome = try await requester.plane.runTrain(on: worker.identity.nodeID, model: model.id, dataset: dataset.id,
                                                         adapter: nil, options: options()) { step, _ in
            steps.update { $0.append(step) }
        }
        let local = try TrainJob.run(modelPath: modelPath, datasetPath: datasetPath, inputAdapterPath: nil, options: options(),
                                     progress: { _ in })
        #expect(outcome.adapter == local.adapterBytes, "the worker's adapter is the local run's, bit for bit")
        #expect(outcome.receipt.receipt.stepChainRoot == local.stepChain.root)
        #expect(outcome.losses == local.losses && steps.current == [1, 2, 3])
        #expect(outcome.receipt.workerSignatureIsValid(mesh: mesh) && outcome.receipt.requesterSignatureIsValid(mesh: mesh))
        #expect(worker.plane.store.info(model.id)?.complete == true, "the worker fetched the model")

        let jobID = Hex.encode(outcome.receipt.receipt.jobID)
        try await waitUntil("the worker stores the countersigned receipt", timeout: .seconds(10)) {
            (try? worker.ledger.receipt(jobID: jobID))?.requesterSignature != nil
        }
        #expect(try requester.ledger.receipt(jobID: jobID)?.accepted == true)
        #expect(try requester.ledger.credits().first { $0.nodeID == worker.identity.nodeID.hex }?.jobsAccepted == 1)
    }

    /// A requester that serves its blobs at 1 MB/s and a worker with one job slot: a train
    /// job on a dataset of `repeats` × 45 bytes spends seconds fetching it, holding the slot.
    func slowFetchSetup(repeats: Int) async throws -> (requester: InProcessMesh.Node, worker: InProcessMesh.Node,
                                                       model: BlobID, dataset: BlobID) {
        let requester = try await start("requester", settings: TaskPlaneSettings(maxJobs: 1, uploadBytesPerSecond: 1e6))
        let worker = try await start("worker", settings: TaskPlaneSettings(maxJobs: 1))
        let modelPath = directory.appendingPathComponent("tiny.gguf").path
        try TinyTrainModel.writer(embedding: 16).write(to: modelPath)
        let datasetPath = directory.appendingPathComponent("big.txt").path
        try String(repeating: "the quick brown fox jumps over the lazy dog. ", count: repeats)
            .write(toFile: datasetPath, atomically: true, encoding: .utf8)
        return (requester, worker, try requester.plane.store.add(fileAt: modelPath, kind: .model, name: "tiny", copy: false).id,
                try requester.plane.store.add(fileAt: datasetPath, kind: .dataset, name: "big", copy: true).id)
    }

    @Test func aWorkerWithItsOnlySlotTakenAnswersBusy() async throws {
        let (requester, worker, model, dataset) = try await slowFetchSetup(repeats: 70_000)
        defer { for node in [requester, worker] { node.compute.shutDown() } }
        let oneStep = options(steps: 1)
        let first = Task { try await requester.plane.runTrain(on: worker.identity.nodeID, model: model, dataset: dataset,
                                                              adapter: nil, options: oneStep) }
        try await waitUntil("the first job holds the slot", timeout: .seconds(10)) { worker.plane.jobsRunning == 1 }
        do {
            _ = try await requester.plane.runTrain(on: worker.identity.nodeID, model: model, dataset: dataset,
                                                   adapter: nil, options: options(steps: 1))
            Issue.record("a second job ran while the only slot was taken")
        } catch let failure as TaskFailure {
            #expect(failure.code == .busy, "\(failure)")
            #expect(failure.message.contains("busy"), "\(failure)")
        }
        _ = try await first.value
        #expect(worker.plane.counts["task.busy"] == 1)
    }

    @Test func aRequesterThatGoesAwayStopsTheJob() async throws {
        let (requester, worker, model, dataset) = try await slowFetchSetup(repeats: 200_000)
        defer { for node in [requester, worker] { node.compute.shutDown() } }
        let oneStep = options(steps: 1)
        let job = Task { try await requester.plane.runTrain(on: worker.identity.nodeID, model: model, dataset: dataset,
                                                            adapter: nil, options: oneStep) }
        try await waitUntil("the job holds the slot", timeout: .seconds(10)) { worker.plane.jobsRunning == 1 }
        let cancelled = ContinuousClock.now
        job.cancel()
        _ = try? await job.value
        // The 9 MB dataset would take 9 s to arrive; the slot is free long before.
        try await waitUntil("the worker gives the slot back", timeout: .seconds(6)) { worker.plane.jobsRunning == 0 }
        #expect(cancelled.duration(to: .now) < .seconds(6))
        #expect(worker.plane.store.info(dataset)?.complete != true, "the fetch stopped")
    }
}
