import Foundation
import Testing
import TernModel
import TernNode

/// `tern finetune dispatch --wait` against real daemons: the dispatching node trains the
/// tiny model over two peers and writes an adapter that loads.
@Suite(.serialized) struct FineTuneDispatchProcessTests {
    @Test func dispatchTrainsOverTwoPeersAndWritesTheAdapter() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tern-dispatch-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        let daemons = try await TaskPlaneProcessTests.startMesh(3, root: root)
        defer { for daemon in daemons { daemon.stop() } }
        let model = root.appendingPathComponent("tiny.gguf").path
        try TinyTrainModel.writer(embedding: 16).write(to: model)
        let data = root.appendingPathComponent("data.txt").path
        try String(repeating: "the quick brown fox jumps over the lazy dog. ", count: 12).write(toFile: data, atomically: true, encoding: .utf8)
        let out = root.appendingPathComponent("adapter.gguf").path

        let run = try await TaskPlaneProcessTests.ternInBackground([
            "finetune", "dispatch", model, "--data", data, "--out", out, "--workers", "2", "--rounds", "2", "--inner-steps", "2",
            "--rank", "2", "--alpha", "4", "--modules", "attn_q,attn_v", "--ctx", "16", "--batch", "2", "--lr", "0.02",
            "--wait", "--json", "--node-data", daemons[0].directory.url.path])
        #expect(run.status == 0, "\(run.err)")
        let status = try TaskPlaneProcessTests.json(FineTuneStatus.self, run.out)
        #expect(status.state == "finished" && status.completed.count == 2, "\(status)")
        #expect(status.completed.allSatisfy { $0.workers.count == 2 }, "\(status)")
        let adapter = try LoRAAdapterFile.read(path: out)
        #expect(adapter.rank == 2 && adapter.sites.count == 4)

        let listed = try TaskPlaneProcessTests.tern(["finetune", "status", status.id, "--node-data", daemons[0].directory.url.path])
        #expect(listed.out.contains("finished") && listed.out.contains("round 2/2"), "\(listed.out)")
    }
}
