import Foundation
import Testing
import TernMesh
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
        let inputs = try Self.tinyInputs(in: root)
        let out = inputs.out
        let run = try await TaskPlaneProcessTests.ternInBackground(Self.dispatch(inputs, node: daemons[0], extra: ["--wait", "--json"]))
        #expect(run.status == 0, "\(run.err)")
        let status = try TaskPlaneProcessTests.json(FineTuneStatus.self, run.out)
        #expect(status.state == "finished" && status.completed.count == 2, "\(status)")
        // Both peers are chosen; a round's shards follow the speeds the peers measured at start
        // (on a loaded machine one may measure so slow that its share is under half a step
        // and it sits the round out), so a round has one or two workers.
        #expect(status.workers.count == 2 && status.completed.allSatisfy { (1...2).contains($0.workers.count) }, "\(status)")
        let adapter = try LoRAAdapterFile.read(path: out)
        #expect(adapter.rank == 2 && adapter.sites.count == 4)

        let listed = try TaskPlaneProcessTests.tern(["finetune", "status", status.id, "--node-data", daemons[0].directory.url.path])
        #expect(listed.out.contains("finished") && listed.out.contains("round 2/2"), "\(listed.out)")
    }

    @Test func aWorkerKilledMidRoundLosesOnlyItsShard() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tern-dispatch-kill-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        // The dispatcher serves its blobs at 1 MB/s, so the workers spend seconds fetching the
        // 3 MB dataset: the round is surely in progress when a worker is killed. The survivor
        // takes two jobs at once, so it can also run the orphaned shard.
        let daemons = try await TaskPlaneProcessTests.startMesh(3, root: root) { index in
            index == 0 ? ["--upload-limit", "1"] : ["--max-jobs", "2"]
        }
        defer { for daemon in daemons { daemon.stop() } }
        let inputs = try Self.tinyInputs(in: root, repeats: 70_000)
        let out = inputs.out
        let arguments = Self.dispatch(inputs, node: daemons[0], extra: ["--wait", "--json"])
        let run = Task { try await TaskPlaneProcessTests.ternInBackground(arguments) }
        let victim = daemons[2]
        _ = try await MeshProcessTests.eventually("the victim is fetching its inputs", seconds: 60) { () async -> Bool? in
            guard let client = try? ControlClient(directory: victim.directory), let blobs = try? await client.blobs() else { return nil }
            return blobs.contains { $0.kind == .dataset } ? true : nil
        }
        victim.kill9()
        let finished = try await run.value
        #expect(finished.status == 0, "\(finished.err)")
        let status = try TaskPlaneProcessTests.json(FineTuneStatus.self, finished.out)
        #expect(status.state == "finished" && status.completed.count == 2, "\(status)")
        let victimID = try NodeIdentity.loadOrCreate(inDirectory: victim.directory.url.path).nodeID.hex
        #expect(status.completed.allSatisfy { !$0.workers.contains(victimID) }, "a dead worker's shard is redone elsewhere")
        #expect(try LoRAAdapterFile.read(path: out).sites.count == 4)
    }

    @Test func aDispatcherKilledMidRoundResumesAfterRestart() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tern-dispatch-restart-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        let daemons = try await TaskPlaneProcessTests.startMesh(3, root: root) { index in
            index == 0 ? ["--upload-limit", "1"] : ["--max-jobs", "2"]
        }
        defer { for daemon in daemons { daemon.stop() } }
        let dispatcher = daemons[0]
        let inputs = try Self.tinyInputs(in: root, repeats: 70_000)
        let out = inputs.out
        let started = try await TaskPlaneProcessTests.ternInBackground(Self.dispatch(inputs, node: dispatcher))
        #expect(started.status == 0, "\(started.err)")
        let task = started.out.trimmingCharacters(in: .whitespacesAndNewlines)
        _ = try await MeshProcessTests.eventually("a worker is fetching its inputs", seconds: 60) { () async -> Bool? in
            for worker in daemons.dropFirst() {
                guard let client = try? ControlClient(directory: worker.directory), let blobs = try? await client.blobs() else { continue }
                if blobs.contains(where: { $0.kind == .dataset }) { return true }
            }
            return nil
        }
        dispatcher.kill9()
        try dispatcher.start()
        let client = try await dispatcher.client()
        let status = try await MeshProcessTests.eventually("the resumed fine-tune finishes", seconds: 180) { () async -> FineTuneStatus? in
            guard let status = try? await client.fineTuneStatus(task).first, status.state != "running" else { return nil }
            return status
        }
        #expect(status.state == "finished" && status.completed.count == 2, "\(status)")
        #expect(try LoRAAdapterFile.read(path: out).sites.count == 4)
    }

    /// A daemon started with `--allow-faults` and `TERN_FAULT=perturb-update` cheats in the
    /// middle of every train job it runs; the dispatcher's check of its first result catches it,
    /// bans it, takes back its credit, and the adapter is made without it.
    @Test func aCheatingWorkerIsCaughtBannedAndLeftOutOfTheAdapter() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tern-dispatch-cheat-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        let daemons = try await TaskPlaneProcessTests.startMesh(
            3, root: root, extra: { [[], ["--max-jobs", "2"], ["--allow-faults"]][$0] },
            environment: { $0 == 2 ? ["TERN_FAULT": "perturb-update"] : [:] })
        defer { for daemon in daemons { daemon.stop() } }
        let run = try await TaskPlaneProcessTests.ternInBackground(
            Self.dispatch(try Self.tinyInputs(in: root), innerSteps: 8, node: daemons[0], extra: ["--verify-rate", "0", "--wait", "--json"]))
        #expect(run.status == 0, "\(run.err)")
        let status = try TaskPlaneProcessTests.json(FineTuneStatus.self, run.out)
        let cheat = try NodeIdentity.loadOrCreate(inDirectory: daemons[2].directory.url.path).nodeID.hex
        #expect(status.state == "finished" && status.banned == [cheat], "\(status)")
        #expect(status.completed.count == 2 && status.completed.allSatisfy { !$0.workers.contains(cheat) && !$0.workers.isEmpty })
        let failed = (status.checks ?? []).filter { !$0.matched }
        // It cheats after the middle step of its shard, whose length follows the measured speeds.
        #expect(failed.count == 1 && failed[0].worker == cheat && (failed[0].firstDivergentStep ?? 0) >= 1, "\(status.checks ?? [])")

        let credits = try TaskPlaneProcessTests.tern(["ledger", "credits", "--json", "--data", daemons[0].directory.url.path])
        struct Credit: Decodable { let node: String; let jobsAccepted: Int64; let jobsRevoked: Int64 }
        let cheatCredit = try #require(try TaskPlaneProcessTests.json([Credit].self, credits.out).first { $0.node == cheat })
        #expect(cheatCredit.jobsAccepted == 0 && cheatCredit.jobsRevoked == 1, "\(credits.out)")
        let shown = try TaskPlaneProcessTests.tern(["finetune", "status", status.id, "--node-data", daemons[0].directory.url.path])
        #expect(shown.out.contains("MISMATCH from step") && shown.out.contains("banned"), "\(shown.out)")
    }

    /// `tern bench dispatch` runs its own daemons and splits every round's wall time into
    /// parts that add up to it.
    @Test func benchDispatchSplitsEveryRoundsTime() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tern-bench-dispatch-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let model = try Self.tinyInputs(in: root).model
        let run = try await TaskPlaneProcessTests.ternInBackground([
            "bench", "dispatch", "--model", model, "--workers", "2", "--rounds", "2", "--inner-steps", "2", "--batch", "1",
            "--ctx", "16", "--rank", "2", "--threads", "1", "--json"])
        #expect(run.status == 0, "\(run.err)")
        struct Round: Decodable {
            let wall_seconds, compute_seconds, transfer_seconds, verification_seconds, aggregation_seconds, waiting_seconds: Double
            let tokens: Int
        }
        struct Report: Decodable { let rounds: [Round]; let steady_non_compute_fraction: Double? }
        let report = try JSONDecoder().decode(Report.self, from: Data(run.out.utf8))
        #expect(report.rounds.count == 2 && report.steady_non_compute_fraction != nil)
        for round in report.rounds {
            let parts = round.compute_seconds + round.transfer_seconds + round.verification_seconds + round.aggregation_seconds
                + round.waiting_seconds
            #expect(round.compute_seconds > 0 && round.tokens > 0 && abs(parts - round.wall_seconds) < 0.01, "\(run.out)")
        }
        #expect(report.rounds[0].verification_seconds > 0, "every worker's first result is checked")
    }

    /// The tiny model, a text of `repeats` sentences and where the adapter goes, under `root`.
    static func tinyInputs(in root: URL, repeats: Int = 12) throws -> (model: String, data: String, out: String) {
        let model = root.appendingPathComponent("tiny.gguf").path
        try TinyTrainModel.writer(embedding: 16).write(to: model)
        let data = root.appendingPathComponent("data.txt").path
        try String(repeating: "the quick brown fox jumps over the lazy dog. ", count: repeats)
            .write(toFile: data, atomically: true, encoding: .utf8)
        return (model, data, root.appendingPathComponent("adapter.gguf").path)
    }

    /// `tern finetune dispatch` of the tiny inputs over two workers for two rounds, in small
    /// shapes, from the daemon in `node`; `extra` flags last.
    static func dispatch(_ inputs: (model: String, data: String, out: String), innerSteps: Int = 2, node: MeshProcessTests.Daemon,
                         extra: [String] = []) -> [String] {
        ["finetune", "dispatch", inputs.model, "--data", inputs.data, "--out", inputs.out, "--workers", "2", "--rounds", "2",
         "--inner-steps", "\(innerSteps)", "--rank", "2", "--alpha", "4", "--modules", "attn_q,attn_v", "--ctx", "16",
         "--batch", "2", "--lr", "0.02", "--node-data", node.directory.url.path] + extra
    }
}
