import Foundation
import TernLedger
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Durability under `kill -9`: a child process appends rows and reports each id after its
/// commit returns; the parent kills it mid-stream, reopens the database and checks that
/// every reported id is there and the file is sound.
///
/// The child is this same test binary, re-run with `childDatabaseEnv` set so that only
/// `crashChildWriter` runs (it is disabled in a normal run).
@Suite struct LedgerCrashTests {
    static let childDatabaseEnv = "TERN_LEDGER_CRASH_CHILD_DB"
    static let committedPrefix = "ledger-committed "

    @Test(.enabled(if: ProcessInfo.processInfo.environment[childDatabaseEnv] != nil))
    func crashChildWriter() throws {
        let path = try #require(ProcessInfo.processInfo.environment[Self.childDatabaseEnv])
        let ledger = try Ledger.open(path: path)
        let start = Date()
        var index: Int64 = 0
        // Bounded so that an orphaned child cannot run on forever.
        while Date().timeIntervalSince(start) < 60 {
            index += 1
            let nodeID = String(format: "%064llx", index)
            try ledger.upsertPeer(PeerRecord(
                nodeID: nodeID, address: "127.0.0.1:\(index % 65536)", fingerprint: String(nodeID.suffix(8)),
                firstSeen: Date(), lastSeen: Date(), state: .alive, incarnation: index))
            let line = "\(Self.committedPrefix)\(nodeID)\n"
            _ = line.withCString { write(STDOUT_FILENO, $0, strlen($0)) }
        }
    }

    @Test func committedRowsSurviveKillNine() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tern-ledger-crash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("ledger.sqlite").path

        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        child.arguments = Self.childArguments()
        var environment = ProcessInfo.processInfo.environment
        environment[Self.childDatabaseEnv] = path
        child.environment = environment
        let stdout = Pipe()
        child.standardOutput = stdout
        child.standardError = FileHandle.nullDevice
        try child.run()

        // Kill at an arbitrary point once the writer is well under way.
        var output = Data()
        let killAfter = 150 + Int.random(in: 0..<100)
        while Self.committedIDs(in: output).count < killAfter {
            let chunk = stdout.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            output.append(chunk)
        }
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        output.append(stdout.fileHandleForReading.readDataToEndOfFile())

        let reported = Self.committedIDs(in: output)
        #expect(child.terminationReason == .uncaughtSignal, "child exited on its own: \(String(decoding: output, as: UTF8.self).suffix(2000))")
        #expect(reported.count >= killAfter)

        let reopened = try Ledger.open(path: path)
        #expect(try reopened.integrityProblems().isEmpty)
        let missing = try reported.filter { try reopened.peer(nodeID: $0) == nil }
        #expect(missing.isEmpty, "committed but lost: \(missing.prefix(5))")
    }

    /// Arguments that make the test binary run only `crashChildWriter`.
    static func childArguments() -> [String] {
        ["--testing-library", "swift-testing", "--filter", "LedgerCrashTests/crashChildWriter"]
    }

    /// Ids from complete report lines; a line cut short by the kill is ignored.
    static func committedIDs(in output: Data) -> [String] {
        let text = String(decoding: output, as: UTF8.self)
        return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            .filter { $0.hasPrefix(committedPrefix) }
            .map { String($0.dropFirst(committedPrefix.count)) }
    }
}
