import Foundation
import Testing
import TernMesh
import TernNode

/// A generate job between two daemons: the worker holds no model and fetches it from the
/// requester; the tokens equal a local `tern run --temp 0`; both ledgers hold the receipt
/// with both signatures; bad jobs get clear errors.
@Suite(.serialized) struct GenerateJobProcessTests {
    @Test func aPeerRunsAGenerateJobOnAModelOnlyTheRequesterHad() async throws {
        let model = try TaskPlaneProcessTests.demoModel()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tern-job-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        let daemons = try await TaskPlaneProcessTests.startMesh(2, root: root)
        defer { for daemon in daemons { daemon.stop() } }
        let (node0, node1) = (daemons[0], daemons[1])
        let data = { (daemon: MeshProcessTests.Daemon) in ["--data", daemon.directory.url.path] }
        let worker = try NodeIdentity.loadOrCreate(inDirectory: node1.directory.url.path).nodeID
        let requester = try NodeIdentity.loadOrCreate(inDirectory: node0.directory.url.path).nodeID
        let modelID = try TaskPlaneProcessTests.json(BlobInfo.self, TaskPlaneProcessTests.tern(["blob", "add", model, "--json"] + data(node0)).out).id.hex

        let prompt = "The capital of France is"
        let run = try await TaskPlaneProcessTests.ternInBackground(["job", "run", "--peer", String(worker.hex.prefix(12)), "generate",
                                                   "--model", modelID, "-p", prompt, "-n", "12", "--json"] + data(node0))
        #expect(run.status == 0, "\(run.err)")
        let reply = try TaskPlaneProcessTests.json(JobRunReply.self, run.out)
        let local = try await TaskPlaneProcessTests.ternInBackground(["run", model, "-p", prompt, "-n", "12", "--temp", "0"])
        #expect(local.out == prompt + reply.text + "\n")
        #expect(reply.tokens == 12)

        // The countersigned receipt verifies; any changed byte does not.
        let signed = try SignedReceipt.decode(try #require(Hex.decode(reply.signedReceipt)), mesh: .open)
        #expect(signed.receipt.worker == worker && signed.receipt.requester == requester)
        #expect(signed.workerSignatureIsValid(mesh: .open) && signed.requesterSignatureIsValid(mesh: .open))
        var tampered = try #require(Hex.decode(reply.signedReceipt))
        tampered[40] ^= 1
        #expect(throws: (any Error).self) { try SignedReceipt.decode(tampered, mesh: .open) }

        // Both ledgers hold it, countersigned; the requester credits the worker.
        for daemon in daemons {
            let listed = try TaskPlaneProcessTests.tern(["ledger", "receipts", "--json"] + data(daemon))
            #expect(listed.status == 0, "\(listed.err)")
            #expect(listed.out.contains(reply.jobID), "\(listed.out)")
            #expect(listed.out.contains(reply.signedReceipt), "the countersigned receipt is stored as sent")
        }
        let credits = try TaskPlaneProcessTests.tern(["ledger", "credits", "--json"] + data(node0))
        #expect(credits.out.contains(worker.hex), "\(credits.out)")

        // Bad jobs: a model nobody has, more tokens than the limit.
        let nobody = try await TaskPlaneProcessTests.ternInBackground(["job", "run", "--peer", String(worker.hex.prefix(12)), "generate",
                                                      "--model", String(repeating: "ab", count: 32), "-p", "x"] + data(node0))
        #expect(nobody.status != 0)
        #expect(nobody.err.contains("no live peer holds blob"), "\(nobody.err)")
        let tooLong = try await TaskPlaneProcessTests.ternInBackground(["job", "run", "--peer", String(worker.hex.prefix(12)), "generate",
                                                       "--model", modelID, "-p", "x", "-n", "5000"] + data(node0))
        #expect(tooLong.status != 0)
        #expect(tooLong.err.contains("max tokens"), "\(tooLong.err)")
        // The worker is still up and answering after all of it.
        let status = try await (try await node1.client()).status()
        #expect(status.dropped["task.badJob", default: 0] >= 1, "\(status.dropped)")
    }
}
