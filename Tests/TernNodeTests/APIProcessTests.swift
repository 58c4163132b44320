import Foundation
import Testing
import TernMesh
import TernNode

/// The public API listener of real daemons (`tern node start --api 127.0.0.1:0`): models
/// held here and by peers, the key, OpenAI-shaped errors, `/metrics` read by Python's
/// `prometheus_client`, and the status page rendered by headless Chromium while a fine-tune
/// runs.
@Suite(.serialized) struct APIProcessTests {
    typealias Daemon = MeshProcessTests.Daemon

    @Test func twoDaemonsServeModelsMetricsAndErrors() async throws {
        let python = try Self.pythonWithPrometheusClient()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tern-api-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let key = "sk-tern-\(UUID().uuidString)"
        let keyFile = root.appendingPathComponent("api.key")
        try Data((key + "\n").utf8).write(to: keyFile)
        let daemons = try await TaskPlaneProcessTests.startMesh(2, root: root) { index in
            ["--api", "127.0.0.1:0"] + (index == 0 ? ["--api-key-file", keyFile.path] : [])
        }
        defer { for daemon in daemons { daemon.stop() } }
        let (base0, base1) = (try await Self.apiBase(of: daemons[0]), try await Self.apiBase(of: daemons[1]))
        let authorized = ["Authorization": "Bearer \(key)"]

        // Node 1 holds the tiny model; it lists it by name and blob id, node 0 by blob id as its peer's.
        let model = try FineTuneDispatchProcessTests.tinyInputs(in: root).model
        let added = try TaskPlaneProcessTests.tern(["blob", "add", model, "--json", "--data", daemons[1].directory.url.path])
        #expect(added.status == 0, "\(added.err)")
        let blob = try TaskPlaneProcessTests.json(BlobInfo.self, added.out).id.hex
        let holder = try NodeIdentity.loadOrCreate(inDirectory: daemons[1].directory.url.path).nodeID.fingerprint
        let local = try JSONDecoder().decode(OpenAIModelList.self, from: try await HTTP.call("\(base1)/v1/models").body)
        #expect(local.data.contains { $0.id == "tiny.gguf" && $0.ownedBy == holder }, "\(local)")
        #expect(local.data.contains { $0.id == blob && $0.ownedBy == holder })
        let seen = try await MeshProcessTests.eventually("node 0 lists its peer's model", seconds: 60) { () async -> OpenAIModel? in
            guard let reply = try? await HTTP.call("\(base0)/v1/models", headers: authorized), reply.status == 200,
                  let list = try? JSONDecoder().decode(OpenAIModelList.self, from: reply.body) else { return nil }
            return list.data.first { $0.id == blob }
        }
        #expect(seen.ownedBy == holder && seen.object == "model")

        // The key guards /v1 on node 0 only.
        try HTTP.expectOpenAIError(try await HTTP.call("\(base0)/v1/models"), 401)
        try HTTP.expectOpenAIError(try await HTTP.call("\(base0)/v1/models", headers: ["Authorization": "Bearer sk-wrong"]), 401)
        #expect(try await HTTP.call("\(base0)/v1/models", headers: authorized).status == 200)
        #expect(try await HTTP.call("\(base1)/v1/models").status == 200)

        // Bad requests get OpenAI-shaped answers and leave the daemon serving.
        try HTTP.expectOpenAIError(try await HTTP.call("\(base0)/v1/no-such-route", headers: authorized), 404)
        try HTTP.expectOpenAIError(try await HTTP.call("\(base0)/v1/models/no-such-model", headers: authorized), 404)
        let tooLarge = try await HTTP.call("POST", "\(base0)/v1/models", headers: authorized,
                                           body: Data(repeating: UInt8(ascii: "x"), count: 2 << 20))
        try HTTP.expectOpenAIError(tooLarge, 413)

        // The page and its data.
        let page = try await HTTP.call("\(base0)/")
        #expect(page.status == 200 && page.text.contains("<title>Tern node</title>"))
        let snapshot = try ControlJSON.decoder.decode(StatusSnapshot.self, from: try await HTTP.call("\(base0)/status.json").body)
        #expect(snapshot.members.count == 2 && snapshot.members.filter(\.isSelf).count == 1, "\(snapshot.members)")

        // /metrics parses with prometheus_client, and the request counter moves with requests.
        let script = """
            import sys, urllib.request
            from prometheus_client.parser import text_string_to_metric_families
            base, key = sys.argv[1], sys.argv[2]
            def get(path, auth=False):
                request = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + key} if auth else {})
                return urllib.request.urlopen(request).read().decode()
            def scrape():
                families = {f.name: f for f in text_string_to_metric_families(get("/metrics"))}
                models = sum(s.value for s in families["tern_http_requests"].samples
                             if s.name == "tern_http_requests_total" and s.labels.get("path") == "/v1/models" and s.labels.get("status") == "200")
                return families, models
            families, before = scrape()
            for _ in range(3): get("/v1/models", auth=True)
            families, after = scrape()
            assert after - before >= 3, (before, after)
            required = {"tern_http_requests": "counter", "tern_http_request_duration_seconds": "histogram",
                        "tern_tokens_generated": "counter", "tern_queue_depth": "gauge", "tern_active_streams": "gauge",
                        "tern_completion_requests": "counter", "tern_completion_latency_seconds": "histogram",
                        "tern_members": "gauge", "tern_jobs_run": "counter", "tern_jobs_failed": "counter",
                        "tern_finetune_rounds": "counter", "tern_receipts": "gauge", "tern_blob_bytes_received": "counter",
                        "tern_blob_bytes_served": "counter", "tern_compute_busy_seconds": "counter"}
            for name, kind in required.items():
                assert name in families, "missing " + name
                assert families[name].type == kind, (name, families[name].type)
            alive = [s.value for s in families["tern_members"].samples if s.labels.get("state") == "alive"]
            assert alive == [1.0], alive
            print("ok", int(before), int(after), len(families))
            """
        let parsed = try await Subprocess.run(python, ["-c", script, base0, key])
        #expect(parsed.status == 0 && parsed.out.hasPrefix("ok"), "\(parsed.out)\n\(parsed.err)")
        for daemon in daemons { #expect(daemon.isRunning) }
    }

    @Test func theStatusPageShowsTheMembersAndARunningFineTune() async throws {
        let chromium = try Self.chromium()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tern-api-page-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        // The dispatcher serves its blobs at 1 MB/s, so the workers spend seconds fetching the
        // dataset: the fine-tune is surely running while the page is rendered.
        let daemons = try await TaskPlaneProcessTests.startMesh(3, root: root) { index in
            index == 0 ? ["--upload-limit", "1", "--api", "127.0.0.1:0"] : ["--max-jobs", "2"]
        }
        defer { for daemon in daemons { daemon.stop() } }
        let base = try await Self.apiBase(of: daemons[0])
        // TERN_STATUS_SCREENSHOT=PATH also saves a screenshot (docs/status-page.png), taken
        // once a round has finished so the loss curve has points.
        let screenshot = ProcessInfo.processInfo.environment["TERN_STATUS_SCREENSHOT"]
        var arguments = FineTuneDispatchProcessTests.dispatch(
            try FineTuneDispatchProcessTests.tinyInputs(in: root, repeats: 150_000), innerSteps: screenshot == nil ? 2 : 6, node: daemons[0])
        if screenshot != nil, let rounds = arguments.firstIndex(of: "--rounds") { arguments[rounds + 1] = "6" }
        let started = try await TaskPlaneProcessTests.ternInBackground(arguments)
        #expect(started.status == 0, "\(started.err)")
        let task = started.out.trimmingCharacters(in: .whitespacesAndNewlines)

        let fingerprints = try daemons.map { try NodeIdentity.loadOrCreate(inDirectory: $0.directory.url.path).nodeID.fingerprint }
        var dom = ""
        for _ in 0..<3 {
            dom = try await Self.renderedDOM(of: "\(base)/", chromium: chromium)
            if dom.contains(#"data-state="running""#) { break }
        }
        for fingerprint in fingerprints {
            #expect(dom.contains(#"class="member" data-node="\#(fingerprint)" data-state="alive""#), "\(fingerprint) missing: \(dom.suffix(4000))")
        }
        #expect(dom.contains(#"class="finetune" data-id="\#(task)" data-state="running""#), "\(dom.suffix(4000))")
        #expect(dom.contains(#"class="loss-curve""#) && dom.contains("(this node)"))

        if let screenshot {
            _ = try? await MeshProcessTests.eventually("a round finishes", seconds: 180) { () async -> Bool? in
                guard let reply = try? await HTTP.call("\(base)/status.json"),
                      let snapshot = try? ControlJSON.decoder.decode(StatusSnapshot.self, from: reply.body) else { return nil }
                return (snapshot.fineTunes.first?.roundsDone ?? 0) >= 2 ? true : nil
            }
            let shot = try await Subprocess.run("/usr/bin/timeout", ["90", chromium] + Self.chromiumFlags(root) + [
                "--virtual-time-budget=5000", "--hide-scrollbars", "--window-size=1280,900", "--screenshot=\(screenshot)", "\(base)/"])
            #expect(shot.status == 0 && FileManager.default.fileExists(atPath: screenshot), "\(shot.err.suffix(2000))")
        }
        for daemon in daemons { #expect(daemon.isRunning) }
    }

    // MARK: Helpers (the in-process suite uses them too)

    /// `http://127.0.0.1:PORT` of the daemon's API listener, from the `api.json` it writes.
    static func apiBase(of daemon: Daemon) async throws -> String {
        try await MeshProcessTests.eventually("api.json", seconds: 120) { () -> String? in
            guard let data = FileManager.default.contents(atPath: daemon.directory.apiEndpointFile.path),
                  let endpoint = try? ControlJSON.decoder.decode(APIEndpoint.self, from: data) else { return nil }
            return endpoint.baseURL
        }
    }

    /// Debian's `chromium`, which scripts/setup.sh installs.
    static func chromium() throws -> String {
        let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/snap/bin/chromium"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
        return try #require(found, "chromium is not installed: run scripts/setup.sh (apt-get install chromium)")
    }

    /// A Python 3 that can import prometheus_client, which scripts/setup.sh installs.
    static func pythonWithPrometheusClient() throws -> String {
        let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let onPath = path.split(separator: ":").map { "\($0)/python3" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        let chosen = try #require(onPath ?? python, "python3 is not installed: run scripts/setup.sh")
        let check = try Subprocess.runNow(chosen, ["-c", "import prometheus_client"])
        try #require(check.status == 0, "python3 cannot import prometheus_client: run scripts/setup.sh (pip install prometheus_client) — \(check.err)")
        return chosen
    }

    /// Headless flags, with a browser profile of its own under `scratch` (runs never share one).
    static func chromiumFlags(_ scratch: URL) -> [String] {
        ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
         "--user-data-dir=\(scratch.appendingPathComponent("chromium-\(UUID().uuidString.prefix(8))").path)"]
    }

    /// The page's DOM after its script ran (it fetches `/status.json` at once; virtual time
    /// lets the fetch finish before the dump).
    static func renderedDOM(of url: String, chromium: String) async throws -> String {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tern-chromium-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let run = try await Subprocess.run("/usr/bin/timeout", ["90", chromium] + chromiumFlags(scratch) + [
            "--virtual-time-budget=5000", "--dump-dom", url])
        try #require(run.status == 0, "chromium failed (\(run.status)): \(run.err.suffix(2000))")
        return run.out
    }
}

/// Runs a program to its end with output in files (a chatty program cannot fill a pipe and
/// stall), on a thread of its own so the cooperative pool stays free.
enum Subprocess {
    static func run(_ executable: String, _ arguments: [String]) async throws -> (out: String, err: String, status: Int32) {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try runNow(executable, arguments) }) }
        }
    }

    static func runNow(_ executable: String, _ arguments: [String]) throws -> (out: String, err: String, status: Int32) {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tern-sub-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("out"), errURL = scratch.appendingPathComponent("err")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        p.standardOutput = out
        p.standardError = err
        try p.run()
        p.waitUntilExit()
        try? out.close()
        try? err.close()
        return (String(decoding: (try? Data(contentsOf: outURL)) ?? Data(), as: UTF8.self),
                String(decoding: (try? Data(contentsOf: errURL)) ?? Data(), as: UTF8.self), p.terminationStatus)
    }
}
