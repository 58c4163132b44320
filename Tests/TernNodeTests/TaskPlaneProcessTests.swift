import Foundation
import Testing
import TernMesh
import TernNode

/// The task plane between real daemons on 127.0.0.1: blobs fetched through the mesh from
/// several holders (one killed mid-transfer, one serving corrupt data), a fetcher restarted
/// mid-fetch, and a generate job run on a peer that first fetches the model.
@Suite(.serialized) struct TaskPlaneProcessTests {
    typealias Daemon = MeshProcessTests.Daemon

    static func demoModel() throws -> String {
        let directory = ProcessInfo.processInfo.environment["TERN_MODELS"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/tern/models")
        let path = directory.appendingPathComponent("SmolLM2-135M-Instruct.Q4_1.gguf").path
        guard FileManager.default.fileExists(atPath: path) else {
            throw MeshProcessTests.TimedOut(what: "missing \(path): run scripts/setup.sh")
        }
        return path
    }

    /// `sha256sum FILE`'s digest.
    static func sha256(_ path: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        p.arguments = [path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: " ").first.map(String.init) ?? "?"
    }

    /// A file of `mebibytes` MiB of seeded pseudo-random bytes.
    static func randomFile(_ path: String, mebibytes: Int, seed: UInt64) throws {
        var state = seed
        var bytes = [UInt8](repeating: 0, count: mebibytes << 20)
        bytes.withUnsafeMutableBytes { raw in
            let words = raw.bindMemory(to: UInt64.self)
            for i in words.indices {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                words[i] = z ^ (z >> 31)
            }
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// Starts daemons that all bootstrap through the first, and waits until each sees the others.
    static func startMesh(_ count: Int, root: URL, extra: (Int) -> [String] = { _ in [] },
                          environment: (Int) -> [String: String] = { _ in [:] }) async throws -> [Daemon] {
        let base = MeshProcessTests.freePortBase()
        let seed = HostPort(host: "127.0.0.1", port: base)
        let daemons = (0..<count).map { Daemon(root: root, index: $0, listen: HostPort(host: "127.0.0.1", port: base + $0), bootstrap: seed) }
        for (index, daemon) in daemons.enumerated() {
            daemon.extraArguments = extra(index)
            daemon.environment = environment(index)
            try daemon.start()
        }
        for daemon in daemons {
            let client = try await daemon.client()
            _ = try await MeshProcessTests.eventually("all members alive", seconds: 120) {
                (try? await client.status()).flatMap { $0.membersAlive == count - 1 ? true : nil }
            }
        }
        return daemons
    }

    /// How many chunks of `blob` the daemon holds (0 while it is unknown there).
    static func chunksHeld(_ blob: String, at daemon: Daemon) async -> Int {
        guard let client = try? ControlClient(directory: daemon.directory),
              let blobs = try? await client.blobs() else { return 0 }
        return blobs.first { $0.id.hex == blob }?.chunksHeld ?? 0
    }

    /// Runs `tern ARGS` on a thread of its own (never blocking the cooperative pool the test's
    /// polling needs) and returns its standard output, standard error and exit status.
    static func ternInBackground(_ arguments: [String]) async throws -> (out: String, err: String, status: Int32) {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try tern(arguments) })
            }
        }
    }

    /// Runs `tern ARGS` and returns its standard output, standard error and exit status.
    @discardableResult
    static func tern(_ arguments: [String]) throws -> (out: String, err: String, status: Int32) {
        let p = Process()
        p.executableURL = MeshProcessTests.ternBinary
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self), p.terminationStatus)
    }

    static func json<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try ControlJSON.decoder.decode(type, from: Data(text.utf8))
    }

    @Test func blobsCrossTheMeshDespiteDeadCorruptAndRestartedPeers() async throws {
        let model = try Self.demoModel()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tern-blobs-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        // Holders serve at 25 MB/s each, so a transfer lasts long enough to interrupt.
        let daemons = try await Self.startMesh(3, root: root) { $0 < 2 ? ["--upload-limit", "25"] : [] }
        defer { for daemon in daemons { daemon.stop() } }
        let (node0, node1, node2) = (daemons[0], daemons[1], daemons[2])
        let data = { (daemon: Daemon) in ["--data", daemon.directory.url.path] }

        // 1. Two holders of the model; one is killed mid-transfer and the other finishes it.
        let added = try Self.tern(["blob", "add", model, "--json"] + data(node0))
        #expect(added.status == 0, "\(added.err)")
        let modelID = try Self.json(BlobInfo.self, added.out).id.hex
        #expect(try Self.tern(["blob", "add", model, "--json"] + data(node1)).status == 0)
        let modelOut = root.appendingPathComponent("model-copy.gguf").path
        let firstArguments = ["blob", "get", modelID, "--out", modelOut, "--json"] + data(node2)
        let firstFetch = Task { try await Self.ternInBackground(firstArguments) }
        _ = try await MeshProcessTests.eventually("node 2 has 10 chunks", seconds: 60) {
            await Self.chunksHeld(modelID, at: node2) >= 10 ? true : nil
        }
        node1.kill9()
        let fetched = try await firstFetch.value
        #expect(fetched.status == 0, "\(fetched.err)")
        let report = try Self.json(BlobFetchReport.self, fetched.out)
        #expect(report.chunksFetched == 94, "\(report)")
        #expect(try Self.sha256(modelOut) == Self.sha256(model))
        try node1.start()

        // 2. The fetcher is killed mid-fetch and restarted: verified chunks are not fetched again.
        let dataset = root.appendingPathComponent("dataset.bin").path
        try Self.randomFile(dataset, mebibytes: 96, seed: 1)
        let datasetID = try Self.json(BlobInfo.self, Self.tern(["blob", "add", dataset, "--kind", "dataset", "--json"] + data(node0)).out).id.hex
        let datasetOut = root.appendingPathComponent("dataset-copy.bin").path
        let interruptedArguments = ["blob", "get", datasetID, "--kind", "dataset", "--out", datasetOut] + data(node2)
        let interrupted = Task { try await Self.ternInBackground(interruptedArguments) }
        _ = try await MeshProcessTests.eventually("node 2 has 40 chunks", seconds: 60) {
            await Self.chunksHeld(datasetID, at: node2) >= 40 ? true : nil
        }
        node2.kill9()
        _ = try await interrupted.value
        try node2.start()
        let client2 = try await node2.client()
        _ = try await MeshProcessTests.eventually("node 2 back in the mesh", seconds: 120) {
            (try? await client2.status()).flatMap { $0.membersAlive == 2 ? true : nil }
        }
        let resumed = try Self.json(BlobFetchReport.self, Self.tern(["blob", "get", datasetID, "--kind", "dataset", "--out", datasetOut, "--json"] + data(node2)).out)
        // Every chunk verified before the kill is kept, committed or not.
        #expect(resumed.chunksAlreadyHeld >= 40, "\(resumed)")
        #expect(resumed.chunksFetched + resumed.chunksAlreadyHeld == 96, "\(resumed)")
        #expect(try Self.sha256(datasetOut) == Self.sha256(dataset))

        // 3. A holder whose copy rotted on disk serves corrupt chunks: caught, scored, and the
        // blob still arrives intact from the other holder.
        let checkpoint = root.appendingPathComponent("checkpoint.bin").path
        try Self.randomFile(checkpoint, mebibytes: 24, seed: 2)
        let checkpointID = try Self.json(BlobInfo.self, Self.tern(["blob", "add", checkpoint, "--kind", "checkpoint", "--json"] + data(node0)).out).id.hex
        #expect(try Self.tern(["blob", "add", checkpoint, "--kind", "checkpoint", "--json"] + data(node1)).status == 0)
        let stored = node1.directory.blobsDirectory.appendingPathComponent(checkpointID).path
        let handle = try #require(FileHandle(forUpdatingAtPath: stored), "node 1 keeps its own copy of a checkpoint")
        for chunk in 0..<24 {
            try handle.seek(toOffset: UInt64(chunk << 20) + 100)
            handle.write(Data([0xFF, 0x00, 0xFF]))
        }
        try handle.close()
        let checkpointOut = root.appendingPathComponent("checkpoint-copy.bin").path
        let clean = try Self.json(BlobFetchReport.self, Self.tern(["blob", "get", checkpointID, "--kind", "checkpoint", "--out", checkpointOut, "--json"] + data(node2)).out)
        #expect(clean.badChunks >= 1, "\(clean)")
        #expect(clean.failedHolders.keys.contains { $0 == (try? node1Fingerprint(node1)) }, "\(clean)")
        #expect(try Self.sha256(checkpointOut) == Self.sha256(checkpoint))
        let status = try await client2.status()
        #expect(status.dropped["fetch.badChunk", default: 0] >= 1, "\(status.dropped)")
    }

    private func node1Fingerprint(_ daemon: Daemon) throws -> String {
        try NodeIdentity.loadOrCreate(inDirectory: daemon.directory.url.path).nodeID.fingerprint
    }
}
