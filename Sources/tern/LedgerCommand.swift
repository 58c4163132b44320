import ArgumentParser
import Foundation
import TernLedger
import TernMesh
import TernNode

/// `tern ledger …`: read the node's ledger directly (no daemon needed): job receipts and
/// the credits they earned.
struct LedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Show the job receipts and credits in this node's ledger.",
        subcommands: [Receipts.self, Credits.self]
    )

    /// Opens the ledger in `data`'s directory. A missing file is an error rather than a new
    /// empty ledger, so a mistyped `--data` says so.
    static func open(_ data: DataDirectoryOption) throws -> Ledger {
        let path = data.directory.ledgerFile.path
        guard FileManager.default.fileExists(atPath: path) else {
            throw ValidationError("no ledger at \(path): has a node run with this data directory (--data)?")
        }
        return try Ledger.open(path: path)
    }

    /// A node id's fingerprint, or the text as stored if it is not one.
    static func label(_ nodeHex: String) -> String {
        Hex.decode(nodeHex).flatMap { NodeID(bytes: $0) }?.fingerprint ?? nodeHex
    }

    static func json(_ value: some Encodable) throws -> String {
        String(decoding: try ControlJSON.encoder.encode(value), as: UTF8.self)
    }

    struct Receipts: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List job receipts, newest first.",
            discussion: "--json includes the signed bytes and both signatures in hex, so each receipt can be re-verified.")

        @Option(help: "Most receipts to list.") var limit = 100
        @Flag(help: "Print JSON instead of a table.") var json = false
        @OptionGroup var data: DataDirectoryOption

        func validate() throws {
            guard limit > 0 else { throw ValidationError("--limit must be positive, got \(limit)") }
        }

        func run() async throws {
            let receipts = try LedgerCommand.open(data).receipts(limit: limit)
            if json {
                print(try LedgerCommand.json(receipts.map(ReceiptJSON.init)))
                return
            }
            var table = TablePrinter("JOB", "KIND", "WORKER", "REQUESTER", "TOKENS", "WALL", "SIGNED BY", "ACCEPTED", "OUTPUT", "CREATED")
            for r in receipts {
                table.add([
                    r.jobID, r.kind, LedgerCommand.label(r.workerNodeID), LedgerCommand.label(r.requesterNodeID), "\(r.tokens)",
                    String(format: "%.1fs", Double(r.wallMillis) / 1000), r.isCountersigned ? "both" : "worker",
                    r.revokedReason != nil ? "revoked" : r.accepted ? "yes" : "no", r.outputBlobID.map { String($0.prefix(12)) } ?? "-",
                    r.createdAt.formatted(.iso8601),
                ])
            }
            print(table.render())
        }
    }

    struct Credits: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List every node's credits: accepted and rejected jobs, tokens and time.")

        @Flag(help: "Print JSON instead of a table.") var json = false
        @OptionGroup var data: DataDirectoryOption

        func run() async throws {
            let credits = try LedgerCommand.open(data).credits()
            if json {
                print(try LedgerCommand.json(credits.map(CreditJSON.init)))
                return
            }
            var table = TablePrinter("NODE", "ACCEPTED", "REJECTED", "REVOKED", "TOKENS", "WALL", "UPDATED")
            for c in credits {
                table.add([LedgerCommand.label(c.nodeID), "\(c.jobsAccepted)", "\(c.jobsRejected)", "\(c.jobsRevoked)", "\(c.tokensAccepted)",
                           String(format: "%.1fs", Double(c.wallMillisAccepted) / 1000), c.updatedAt.formatted(.iso8601)])
            }
            print(table.render())
        }
    }
}

/// One receipt of `tern ledger receipts --json`: ids and signatures in hex, and the exact
/// signed bytes (`SignedReceipt.encoded()`) for re-verification.
struct ReceiptJSON: Encodable {
    let jobId: String
    let kind: String
    let worker: String
    let requester: String
    let output: String?
    let tokens: Int64
    let wallMillis: Int64
    let accepted: Bool
    /// Why the credit was taken back after acceptance; absent when it stands.
    let revokedReason: String?
    let createdAt: Date
    let workerSignature: String
    let requesterSignature: String?
    let signedBytes: String

    init(_ r: ReceiptRecord) {
        jobId = r.jobID
        kind = r.kind
        worker = r.workerNodeID
        requester = r.requesterNodeID
        output = r.outputBlobID
        tokens = r.tokens
        wallMillis = r.wallMillis
        accepted = r.accepted
        revokedReason = r.revokedReason
        createdAt = r.createdAt
        workerSignature = Hex.encode(r.workerSignature)
        requesterSignature = r.requesterSignature.map(Hex.encode)
        signedBytes = Hex.encode(r.signedBytes)
    }
}

/// One node of `tern ledger credits --json`.
struct CreditJSON: Encodable {
    let node: String
    let jobsAccepted: Int64
    let jobsRejected: Int64
    let tokensAccepted: Int64
    let wallMillisAccepted: Int64
    let jobsRevoked: Int64
    let updatedAt: Date

    init(_ c: CreditRecord) {
        node = c.nodeID
        jobsAccepted = c.jobsAccepted
        jobsRejected = c.jobsRejected
        tokensAccepted = c.tokensAccepted
        wallMillisAccepted = c.wallMillisAccepted
        jobsRevoked = c.jobsRevoked
        updatedAt = c.updatedAt
    }
}
