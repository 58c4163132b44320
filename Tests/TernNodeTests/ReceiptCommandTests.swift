import Foundation
import Testing
import TernLedger
import TernMesh
import TernNode

/// `tern ledger receipts --json` and `tern ledger credits --json` on a ledger holding real
/// signed receipts: what the CLI prints is enough to re-verify every signature.
@Suite struct ReceiptCommandTests {
    let worker = try! NodeIdentity(seed: [UInt8](repeating: 0x11, count: 32))
    let requester = try! NodeIdentity(seed: [UInt8](repeating: 0x22, count: 32))

    func signed(job: UInt8, countersigned: Bool) throws -> SignedReceipt {
        var chain = StepHashChain()
        chain.append(StepHashChain.digest([job]))
        let receipt = JobReceipt(
            jobID: [UInt8](repeating: job, count: 16), kind: .train, worker: worker.nodeID, requester: requester.nodeID,
            inputs: [BlobID(bytes: [UInt8](repeating: 3, count: 32))!], optionsHash: StepHashChain.digest([1]),
            output: BlobID(bytes: [UInt8](repeating: 4, count: 32)), tokens: 640, wallMillis: 1_500,
            stepChainRoot: chain.root, finishedAtMillis: 1_760_000_000_000)
        let workerOnly = try SignedReceipt.sign(receipt, worker: worker, mesh: .open)
        return countersigned ? try workerOnly.countersigned(by: requester, mesh: .open) : workerOnly
    }

    func tern(_ arguments: [String]) throws -> Data {
        let process = Process()
        process.executableURL = MeshProcessTests.ternBinary
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "tern \(arguments.joined(separator: " "))")
        return data
    }

    @Test func jsonListingsCarryBytesThatReverify() throws {
        let directory = NodeDirectory(NSTemporaryDirectory() + "tern-receipt-cli-\(UUID().uuidString)")
        try directory.create()
        defer { try? FileManager.default.removeItem(at: directory.url) }
        do {
            let ledger = try Ledger.open(path: directory.ledgerFile.path)
            try ledger.storeReceipt(ReceiptRecord(try signed(job: 1, countersigned: false)))
            try ledger.acceptReceipt(ReceiptRecord(try signed(job: 2, countersigned: true)), creditTo: worker.nodeID.hex)
        }

        let receipts = try #require(try JSONSerialization.jsonObject(
            with: try tern(["ledger", "receipts", "--json", "--data", directory.url.path])) as? [[String: Any]])
        #expect(receipts.count == 2)
        for object in receipts {
            let hex = try #require(object["signedBytes"] as? String)
            let bytes = try #require(Hex.decode(hex))
            let decoded = try SignedReceipt.decode(bytes, mesh: .open)
            #expect(Hex.encode(decoded.receipt.jobID) == object["jobId"] as? String)
            #expect(Hex.encode(decoded.workerSignature) == object["workerSignature"] as? String)
            #expect(decoded.requesterSignature.map(Hex.encode) == object["requesterSignature"] as? String)
            #expect(object["worker"] as? String == worker.nodeID.hex)
            #expect(object["accepted"] as? Bool == decoded.requesterSignatureIsValid(mesh: .open))
            #expect(throws: ReceiptError.badWorkerSignature) {
                try SignedReceipt.decode(bytes, mesh: try MeshID(secret: [UInt8](repeating: 5, count: 32)))
            }
        }

        let credits = try #require(try JSONSerialization.jsonObject(
            with: try tern(["ledger", "credits", "--json", "--data", directory.url.path])) as? [[String: Any]])
        #expect(credits.count == 1)
        #expect(credits.first?["node"] as? String == worker.nodeID.hex)
        #expect(credits.first?["tokensAccepted"] as? Int == 640)
        #expect(credits.first?["jobsAccepted"] as? Int == 1)

        let table = String(decoding: try tern(["ledger", "receipts", "--data", directory.url.path]), as: UTF8.self)
        #expect(table.contains(worker.nodeID.fingerprint) && table.contains("both") && table.contains("worker"))
    }
}
