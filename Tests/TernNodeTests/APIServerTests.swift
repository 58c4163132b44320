import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import Logging
import Testing
import TernNode

/// A fixed node for exercising the API listener without a mesh. One peer is hostile: its
/// profile text is markup that must reach the page as text.
private struct FixedObserver: NodeObserver {
    static let hostileClass = #"<img src=x onerror="document.title='pwned'">"#
    static let localModel = String(repeating: "ab", count: 32)
    static let peerModel = String(repeating: "cd", count: 32)
    static let sharedModel = String(repeating: "ef", count: 32)
    static let deadPeersModel = String(repeating: "99", count: 32)

    func status() async -> NodeStatusReply {
        NodeStatusReply(nodeID: "aa", fingerprint: "self0001", version: "t", gossipAddress: "127.0.0.1:1", incarnation: 1,
                        membersAlive: 2, membersSuspect: 0, membersDead: 1, uptimeSeconds: 5, dataDirectory: "/tmp/x")
    }

    func members() async -> [MemberSummary] {
        [MemberSummary(nodeID: "aa", fingerprint: "self0001", address: "127.0.0.1:1", state: "alive", isSelf: true,
                       deviceClass: "server", cores: 2, ramBytes: 1 << 30, gops: 10, loadPercent: 5, models: [Self.localModel]),
         MemberSummary(nodeID: "bb", fingerprint: "peer0002", address: "127.0.0.1:2", state: "alive",
                       deviceClass: Self.hostileClass, cores: 4, ramBytes: 2 << 30, gops: 20, loadPercent: 50,
                       models: [Self.peerModel, Self.sharedModel]),
         MemberSummary(nodeID: "cc", fingerprint: "peer0003", address: "127.0.0.1:3", state: "alive", models: [Self.sharedModel]),
         MemberSummary(nodeID: "dd", fingerprint: "peer0004", address: "127.0.0.1:4", state: "dead", models: [Self.deadPeersModel])]
    }

    func localModels() -> [BlobInfo] {
        let json = """
            [{"id":"\(Self.localModel)","size":10,"kind":"model","name":"tiny.gguf","pinned":false,
              "createdAt":"2026-01-01T00:00:00Z","lastUsedAt":"2026-01-01T00:00:00Z","chunkCount":1,"chunksHeld":1,"complete":true}]
            """
        return (try? ControlJSON.decoder.decode([BlobInfo].self, from: Data(json.utf8))) ?? []
    }

    func fineTunes() -> [FineTuneStatus] {
        let json = """
            [{"id":"0011223344556677","state":"running","rounds":3,"workers":["bb","cc"],"banned":[],"outPath":"/tmp/a.gguf",
              "startedAt":"2026-01-01T00:00:00Z","completed":[],
              "running":[{"shard":0,"worker":"bb","stepsDone":1,"steps":4,"loss":5.5}]}]
            """
        return (try? ControlJSON.decoder.decode([FineTuneStatus].self, from: Data(json.utf8))) ?? []
    }

    func receipts(limit: Int) -> [ReceiptSummary] {
        [ReceiptSummary(jobID: "j1", kind: "train", worker: "bb", requester: "aa", tokens: 64, wallMillis: 1200,
                        accepted: true, createdAt: Date(timeIntervalSince1970: 1_800_000_000))]
    }

    func credits() -> [CreditSummary] {
        [CreditSummary(nodeID: "bb", jobsAccepted: 1, jobsRejected: 0, jobsRevoked: 0, tokensAccepted: 64)]
    }

    func activity() async -> NodeActivity {
        var activity = NodeActivity()
        activity.members = ["alive": 2, "suspect": 0, "dead": 1]
        activity.gossipDrops = ["badSignature": 3]
        return activity
    }
}

/// What an HTTP call returned.
struct HTTPReply {
    let status: Int
    let headers: [String: String]
    let body: Data
    var text: String { String(decoding: body, as: UTF8.self) }
    func json() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any], "not a JSON object: \(text.prefix(300))")
    }
}

enum HTTP {
    static func call(_ url: String, headers: [String: String] = [:]) async throws -> HTTPReply {
        try await call("GET", url, headers: headers)
    }

    static func call(_ method: String, _ url: String, headers: [String: String] = [:], body: Data? = nil) async throws -> HTTPReply {
        var request = URLRequest(url: try #require(URL(string: url)))
        request.httpMethod = method
        request.timeoutInterval = 30
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = body
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        var fields: [String: String] = [:]
        for (name, value) in http.allHeaderFields { fields["\(name)".lowercased()] = "\(value)" }
        return HTTPReply(status: http.statusCode, headers: fields, body: data)
    }

    /// Asserts `reply` is an OpenAI error of `status` and returns its `error` object.
    @discardableResult
    static func expectOpenAIError(_ reply: HTTPReply, _ status: Int, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        #expect(reply.status == status, "\(reply.text.prefix(300))", sourceLocation: sourceLocation)
        let error = try #require(try reply.json()["error"] as? [String: Any], sourceLocation: sourceLocation)
        #expect(error["message"] is String && error["type"] is String, sourceLocation: sourceLocation)
        #expect(error.keys.contains("param") && error.keys.contains("code"), "\(error)", sourceLocation: sourceLocation)
        return error
    }
}

@Suite struct APIServerTests {
    /// A body the test route decodes.
    struct Echo: Codable { let text: String }

    /// Runs the listener on a free loopback port, with a `POST /v1/echo` route added the
    /// way completions will add theirs, for the duration of `body`.
    private func withServer(key: ControlToken? = nil, metrics: NodeMetrics = NodeMetrics(),
                            _ body: @Sendable (String) async throws -> Void) async throws {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = APIServer.application(
            address: HostPort(host: "127.0.0.1", port: 0), key: key, observer: FixedObserver(), metrics: metrics,
            logger: Logger(label: "test"),
            routes: { router in
                router.post("/v1/echo") { request, context in
                    let echo = try await request.decodeOpenAIJSON(Echo.self, context: context)
                    guard !echo.text.isEmpty else { throw OpenAIError.invalidValue("text", "text must not be empty") }
                    return try JSONBody(echo)
                }
                router.get("/v1/full") { _, _ -> Response in throw OpenAIError.queueFull(retryAfterSeconds: 3) }
                router.get("/v1/crash") { _, _ -> Response in throw CocoaError(.fileNoSuchFile) }
            },
            onListening: { continuation.yield($0) })
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            try await body("http://127.0.0.1:\(port)")
            group.cancelAll()
        }
    }

    @Test func listsLocalModelsByNameAndIdAndPeersModelsByHolder() async throws {
        try await withServer { base in
            let reply = try await HTTP.call("\(base)/v1/models")
            #expect(reply.status == 200)
            let list = try JSONDecoder().decode(OpenAIModelList.self, from: reply.body)
            #expect(list.object == "list")
            let owners = Dictionary(uniqueKeysWithValues: list.data.map { ($0.id, $0.ownedBy) })
            #expect(owners["tiny.gguf"] == "self0001" && owners[FixedObserver.localModel] == "self0001")
            #expect(owners[FixedObserver.peerModel] == "peer0002", "one holder: its fingerprint")
            #expect(owners[FixedObserver.sharedModel] == "mesh", "several holders: the mesh")
            #expect(owners[FixedObserver.deadPeersModel] == nil, "a dead member serves nothing")
            #expect(list.data.allSatisfy { $0.object == "model" })
            let raw = try #require(try reply.json()["data"] as? [[String: Any]])
            #expect(raw.allSatisfy { $0["owned_by"] is String && $0["created"] is Int })

            let one = try await HTTP.call("\(base)/v1/models/tiny.gguf")
            #expect(one.status == 200 && one.text.contains("\"owned_by\":\"self0001\""))
            let missing = try HTTP.expectOpenAIError(try await HTTP.call("\(base)/v1/models/nope"), 404)
            #expect(missing["code"] as? String == "model_not_found" && missing["param"] as? String == "model")
        }
    }

    @Test func errorsHaveOpenAIsShapeAndStatus() async throws {
        try await withServer { base in
            let unknown = try HTTP.expectOpenAIError(try await HTTP.call("\(base)/v1/nothing-here"), 404)
            #expect(unknown["code"] as? String == "unknown_url")
            try HTTP.expectOpenAIError(try await HTTP.call("\(base)/elsewhere"), 404)

            let json = ["Content-Type": "application/json"]
            let malformed = try await HTTP.call("POST", "\(base)/v1/echo", headers: json, body: Data("{\"text\": ".utf8))
            #expect(try HTTP.expectOpenAIError(malformed, 400)["code"] as? String == "invalid_json")
            let wrongType = try await HTTP.call("POST", "\(base)/v1/echo", headers: json, body: Data("{\"text\": 5}".utf8))
            #expect((try HTTP.expectOpenAIError(wrongType, 400)["message"] as? String ?? "").contains("text"))
            try HTTP.expectOpenAIError(try await HTTP.call("POST", "\(base)/v1/echo", headers: json), 400)
            let invalid = try await HTTP.call("POST", "\(base)/v1/echo", headers: json, body: Data("{\"text\": \"\"}".utf8))
            #expect(try HTTP.expectOpenAIError(invalid, 400)["param"] as? String == "text")
            let fine = try await HTTP.call("POST", "\(base)/v1/echo", headers: json, body: Data("{\"text\": \"hi\"}".utf8))
            #expect(fine.status == 200 && fine.text == #"{"text":"hi"}"#)

            // 1 MiB is the cap: a 2 MiB body is refused, and the listener still answers.
            let huge = Data("{\"text\": \"".utf8) + Data(repeating: UInt8(ascii: "a"), count: 2 << 20) + Data("\"}".utf8)
            try HTTP.expectOpenAIError(try await HTTP.call("POST", "\(base)/v1/echo", headers: json, body: huge), 413)

            let full = try await HTTP.call("\(base)/v1/full")
            #expect(try HTTP.expectOpenAIError(full, 429)["type"] as? String == "rate_limit_error")
            #expect(full.headers["retry-after"] == "3")

            let crash = try await HTTP.call("\(base)/v1/crash")
            #expect(try HTTP.expectOpenAIError(crash, 500)["type"] as? String == "server_error")
            #expect(!crash.text.contains("fileNoSuchFile"), "internal errors do not leak their text")
            #expect(try await HTTP.call("\(base)/v1/models").status == 200)
        }
    }

    @Test func aKeyGuardsV1Only() async throws {
        let key = ControlToken(value: "sk-test-\(UUID().uuidString)")
        try await withServer(key: key) { base in
            let none = try await HTTP.call("\(base)/v1/models")
            #expect(try HTTP.expectOpenAIError(none, 401)["code"] as? String == "invalid_api_key")
            try HTTP.expectOpenAIError(try await HTTP.call("\(base)/v1/models", headers: ["Authorization": "Bearer wrong"]), 401)
            try HTTP.expectOpenAIError(try await HTTP.call("\(base)/v1/models", headers: ["Authorization": key.value]), 401)
            let good = try await HTTP.call("\(base)/v1/models", headers: ["Authorization": "Bearer \(key.value)"])
            #expect(good.status == 200)
            // Monitoring and the page need no key.
            #expect(try await HTTP.call("\(base)/metrics").status == 200)
            #expect(try await HTTP.call("\(base)/").status == 200)
            #expect(try await HTTP.call("\(base)/status.json").status == 200)
        }
    }

    @Test func metricsCountRequestsPerDaemon() async throws {
        let metrics = NodeMetrics()
        let other = NodeMetrics()
        try await withServer(metrics: metrics) { base in
            for _ in 0..<3 { _ = try await HTTP.call("\(base)/v1/models") }
            _ = try await HTTP.call("\(base)/v1/unknown")
            let reply = try await HTTP.call("\(base)/metrics")
            #expect(reply.status == 200 && (reply.headers["content-type"] ?? "").hasPrefix("text/plain"))
            let text = reply.text
            #expect(text.contains(#"tern_http_requests_total{path="/v1/models",method="GET",status="200"} 3"#), "\(text)")
            #expect(text.contains(#"status="404"} 1"#))
            #expect(text.contains(#"tern_gossip_dropped_total{reason="badSignature"} 3"#))
            #expect(text.contains(#"tern_members{state="dead"} 1"#))
            for name in ["tern_tokens_generated_total", "tern_queue_depth", "tern_active_streams",
                         "tern_completion_requests_total", "tern_completion_latency_seconds_bucket", "tern_http_request_duration_seconds_bucket"] {
                #expect(text.contains(name), "\(name) missing")
            }
            // Another daemon's registry in the same process saw none of it.
            #expect(!other.render(NodeActivity()).contains("tern_http_requests_total"))
            // Scraping again does not count the same drops twice.
            let again = try await HTTP.call("\(base)/metrics").text
            #expect(again.contains(#"tern_gossip_dropped_total{reason="badSignature"} 3"#))
        }
    }

    @Test func theStatusPageRendersPeerTextAsText() async throws {
        let chromium = try APIProcessTests.chromium()
        try await withServer { base in
            let page = try await HTTP.call("\(base)/")
            #expect(page.status == 200 && (page.headers["content-security-policy"] ?? "").contains("default-src 'none'"))
            #expect(!page.text.contains("<link") && !page.text.contains("src=\"http") && !page.text.contains("url("),
                    "no external assets")
            let dom = try await APIProcessTests.renderedDOM(of: "\(base)/", chromium: chromium)
            #expect(dom.contains(#"data-node="peer0002""#) && dom.contains(#"data-node="self0001""#), "\(dom.suffix(3000))")
            #expect(dom.contains("&lt;img src=x onerror="), "the hostile class shows as text")
            #expect(!dom.contains("<img"), "and never as an element")
            #expect(dom.contains("<title>Tern node</title>"))
            #expect(dom.contains(#"class="finetune" data-id="0011223344556677" data-state="running""#))
            #expect(dom.contains(#"class="receipt""#) && dom.contains(#"class="credit""#))
        }
    }
}
