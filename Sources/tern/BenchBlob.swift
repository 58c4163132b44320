import ArgumentParser
import Foundation
import TernNode
import TernSupport

/// `tern bench blob`: a blob transfer between two real daemons on loopback, against a plain
/// sequential read of the same file measured in the same run.
struct BenchBlob: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blob",
        abstract: "Blob transfer between two local daemons (MB/s, encryption and hashing included) vs. a plain file read.",
        discussion: """
            Writes a file of --size-mib MiB of random bytes, starts two `tern node start` daemons in a
            temporary directory, adds the file to the first (hashing it), fetches it on the second
            through the encrypted `blob/1` stream (every chunk verified and written to its store),
            and compares the rate with reading the file the way `cat FILE > /dev/null` does.
            """)

    @Option(help: "Size of the test blob in MiB.") var sizeMib = 1024
    @Option(help: "Fetches to time (the blob is removed from the second daemon between them); the best counts.") var runs = 3
    @Option(help: "Where to put the file and the daemons' data (default: a new temporary directory).") var workDir: String?
    @Flag(help: "Print JSON instead of a table.") var json = false

    struct Report: Codable {
        let size_bytes: UInt64
        let plain_read_mb_per_s: Double
        let add_hash_mb_per_s: Double
        let transfer_mb_per_s: Double
        let transfer_over_plain_read: Double
        let transfer_seconds: Double
        /// Every timed fetch, in order: the first on a freshly booted VM also pays for memory
        /// the hypervisor has never backed, which later runs reuse.
        let transfer_mb_per_s_runs: [Double]
        let goal_mb_per_s: Double
        let cores: Int
    }

    func validate() throws {
        guard sizeMib >= 1 else { throw ValidationError("--size-mib must be at least 1") }
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
    }

    func run() async throws {
        let root = URL(fileURLWithPath: workDir ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("tern-bench-blob-\(UUID().uuidString.prefix(8))").path)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { if workDir == nil { try? FileManager.default.removeItem(at: root) } }
        let file = root.appendingPathComponent("blob.bin").path
        progress("writing \(sizeMib) MiB of random bytes")
        try Self.writeRandomFile(file, mebibytes: sizeMib)
        let size = UInt64(sizeMib) << 20

        progress("reading it the way cat does")
        let plainRead = try (0..<2).map { _ in try Self.plainReadSeconds(file) }.min()!

        let base = LoopbackPorts.freeBlock()
        let daemons = try (0..<2).map { index in
            try BenchDaemon.start(root: root, index: index, listen: "127.0.0.1:\(base + index)", bootstrap: "127.0.0.1:\(base)")
        }
        defer { for daemon in daemons { daemon.stop() } }
        progress("starting two daemons")
        let clients = try await daemons.asyncMap { try await $0.client() }
        for client in clients {
            try await Self.waitUntil("the daemons see each other", seconds: 30) { (try? await client.status())?.membersAlive == 1 }
        }

        progress("adding the blob to the first daemon")
        let added = ContinuousClock.now
        let info = try await clients[0].addBlob(BlobAddRequest(path: file, kind: "checkpoint", name: "bench", reference: true))
        let addSeconds = added.duration(to: .now).inSeconds
        var seconds: [Double] = []
        for run in 1...runs {
            progress("fetching it on the second (\(run) of \(runs))")
            let report = try await clients[1].getBlob(BlobGetRequest(id: info.id.hex, out: nil, kind: "checkpoint"))
            guard report.chunksFetched == info.chunkCount else {
                throw ValidationError("fetch \(run) moved \(report.chunksFetched) of \(info.chunkCount) chunks")
            }
            seconds.append(report.seconds)
            try await clients[1].removeBlob(id: info.id.hex)
        }
        let best = seconds.min()!
        let mb = Double(size) / 1e6
        let result = Report(
            size_bytes: size, plain_read_mb_per_s: mb / plainRead, add_hash_mb_per_s: mb / addSeconds,
            transfer_mb_per_s: mb / best, transfer_over_plain_read: plainRead / best,
            transfer_seconds: best, transfer_mb_per_s_runs: seconds.map { mb / $0 }, goal_mb_per_s: 300,
            cores: ProcessInfo.processInfo.activeProcessorCount)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(result), as: UTF8.self))
            return
        }
        var table = TablePrinter("MEASURE", "MB/S", "VS PLAIN READ")
        table.add(["plain read (cat FILE > /dev/null)", String(format: "%.0f", result.plain_read_mb_per_s), "1.00"])
        table.add(["blob add (BLAKE2b chunk hashes)", String(format: "%.0f", result.add_hash_mb_per_s),
                   String(format: "%.2f", result.add_hash_mb_per_s / result.plain_read_mb_per_s)])
        table.add(["daemon → daemon fetch (encrypted, verified, written)", String(format: "%.0f", result.transfer_mb_per_s),
                   String(format: "%.2f", result.transfer_over_plain_read)])
        print(table.render())
        print(String(format: "\n%d MiB on %d cores, best of %d fetches (%@ MB/s); goal ≥ %.0f MB/s: %@", sizeMib,
                     result.cores, runs, result.transfer_mb_per_s_runs.map { String(format: "%.0f", $0) }.joined(separator: ", "),
                     result.goal_mb_per_s, result.transfer_mb_per_s >= result.goal_mb_per_s ? "met" : "not met"))
    }

    private func progress(_ line: String) {
        if !json { FileHandle.standardError.write(Data("… \(line)\n".utf8)) }
    }

    static func writeRandomFile(_ path: String, mebibytes: Int) throws {
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        // Seeded once from the system; the system generator itself would make a syscall a word.
        var generator = SplitMix64(seed: UInt64.random(in: .min ... .max))
        var chunk = [UInt64](repeating: 0, count: (1 << 20) / 8)
        for _ in 0..<mebibytes {
            for i in chunk.indices { chunk[i] = generator.next() }
            handle.write(chunk.withUnsafeBytes { Data($0) })
        }
        // On disk before anything is timed: otherwise its writeback competes with the
        // transfer's own writes (the kernel throttles writers once enough data is dirty).
        try handle.synchronize()
    }

    /// Seconds to read the whole file with 1 MiB `read` calls, as `cat` does.
    static func plainReadSeconds(_ path: String) throws -> Double {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ValidationError("cannot open \(path)") }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        let start = ContinuousClock.now
        while buffer.withUnsafeMutableBytes({ read(fd, $0.baseAddress, $0.count) }) > 0 {}
        return start.duration(to: .now).inSeconds
    }

    static func waitUntil(_ what: String, seconds: Double, _ condition: () async -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while await !condition() {
            guard ContinuousClock.now < deadline else { throw ValidationError("timed out waiting until \(what)") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}

/// A `tern node start` child process for benchmarks.
struct BenchDaemon {
    let directory: NodeDirectory
    let process: Process

    static func start(root: URL, index: Int, listen: String, bootstrap: String, extra: [String] = []) throws -> BenchDaemon {
        let directory = NodeDirectory(root.appendingPathComponent("node\(index)").path)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["node", "start", "--data", directory.url.path, "--listen", listen, "--bootstrap", bootstrap,
                             "--period-ms", "500", "--log-level", "warning"] + extra
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return BenchDaemon(directory: directory, process: process)
    }

    func client() async throws -> ControlClient {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            if let client = try? ControlClient(directory: directory) { return client }
            guard ContinuousClock.now < deadline, process.isRunning else {
                throw ValidationError("daemon in \(directory.url.path) did not start")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for element in self { out.append(try await transform(element)) }
        return out
    }
}
