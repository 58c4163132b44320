import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Hummingbird
import Logging
import Testing
import TernKernels
import TernModel
import TernNode

/// A node with no mesh, for the completion routes.
struct LoneObserver: NodeObserver {
    func status() async -> NodeStatusReply {
        NodeStatusReply(nodeID: "aa", fingerprint: "self0001", version: "t", gossipAddress: "127.0.0.1:1", incarnation: 1,
                        membersAlive: 0, membersSuspect: 0, membersDead: 0, uptimeSeconds: 1, dataDirectory: "/tmp/x")
    }
    func members() async -> [MemberSummary] { [] }
    func localModels() -> [BlobInfo] { [] }
    func fineTunes() -> [FineTuneStatus] { [] }
    func receipts(limit: Int) -> [ReceiptSummary] { [] }
    func credits() -> [CreditSummary] { [] }
    func activity() async -> NodeActivity { NodeActivity() }
}

/// `/v1/chat/completions` and `/v1/completions` served in process by `LocalServing` on the
/// demo model: greedy replies equal `Generator`'s (as `tern run --temp 0`), streams carry the
/// same text, bad requests get OpenAI errors, and a client that hangs up mid-stream frees its
/// KV blocks.
@Suite(.serialized) struct CompletionsAPITests {
    static let modelName = "smol"

    static func demoModel() throws -> String { try TaskPlaneProcessTests.demoModel() }

    /// Runs the listener with completions on the demo model for the duration of `body`.
    private func withServer(settings: LocalServing.Settings = Self.settings(),
                            _ body: @Sendable (String, LocalServing, NodeMetrics) async throws -> Void) async throws {
        let metrics = NodeMetrics()
        let serving = LocalServing(source: FileModelSource(models: [Self.modelName: try Self.demoModel()]), metrics: metrics,
                                   settings: settings)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = APIServer.application(
            address: HostPort(host: "127.0.0.1", port: 0), key: nil, observer: LoneObserver(), metrics: metrics,
            logger: Logger(label: "test"), routes: { serving.addRoutes(to: $0) }, onListening: { continuation.yield($0) })
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            do {
                try await body("http://127.0.0.1:\(port)", serving, metrics)
            } catch {
                group.cancelAll()
                await serving.shutDown()
                throw error
            }
            group.cancelAll()
            await serving.shutDown()
        }
    }

    static func settings() -> LocalServing.Settings {
        var settings = LocalServing.Settings()
        settings.kernelThreads = 2
        settings.cacheTokens = 2048
        settings.contextLength = 1024
        return settings
    }

    static func post(_ url: String, _ json: String) async throws -> HTTPReply {
        try await HTTP.call("POST", url, headers: ["Content-Type": "application/json"], body: Data(json.utf8))
    }

    /// What `tern run --chat --temp 0` generates for `prompt` (the same steps as `RunCommand`).
    static func greedyChat(_ prompt: String, maxTokens: Int) throws -> GenerationResult {
        let file = try GGUFFile(path: try demoModel())
        let tokenizer = try Tokenizer(file: file)
        let model = try TransformerModel(file: file)
        let text = try ChatTemplate(file: file).render([ChatMessage(role: "user", content: prompt)], addGenerationPrompt: true)
        let session = InferenceSession(model: model, contextLength: 1024, pool: ThreadPool(threads: 2), precision: .int16Activations)
        return try Generator(session: session, tokenizer: tokenizer)
            .generate(prompt: tokenizer.encode(text), sampling: .greedy, maxTokens: maxTokens)
    }

    /// The `data:` payloads of an SSE body.
    static func events(_ text: String) -> [String] {
        text.components(separatedBy: "\n\n").compactMap { block in
            block.hasPrefix("data: ") ? String(block.dropFirst("data: ".count)) : nil
        }
    }

    static func object(_ json: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], "\(json)")
    }

    @Test func greedyChatEqualsGeneratorStreamedOrNot() async throws {
        let prompt = "What is the capital of France?"
        let expected = try Self.greedyChat(prompt, maxTokens: 12)
        try await withServer { base, _, metrics in
            let request = #"{"model": "smol", "temperature": 0, "max_tokens": 12, "messages": [{"role": "user", "content": "\#(prompt)"}]"#
            let reply = try await Self.post("\(base)/v1/chat/completions", request + "}")
            #expect(reply.status == 200, "\(reply.text)")
            let json = try reply.json()
            #expect(json["object"] as? String == "chat.completion" && json["model"] as? String == "smol")
            let choice = try #require((json["choices"] as? [[String: Any]])?.first)
            let message = try #require(choice["message"] as? [String: Any])
            #expect(message["role"] as? String == "assistant")
            #expect(message["content"] as? String == expected.text)
            #expect(choice["finish_reason"] as? String == (expected.finishReason == .length ? "length" : "stop"))
            let usage = try #require(json["usage"] as? [String: Any])
            #expect(usage["prompt_tokens"] as? Int == expected.promptTokenCount)
            #expect(usage["completion_tokens"] as? Int == expected.tokens.count)
            #expect(usage["total_tokens"] as? Int == expected.promptTokenCount + expected.tokens.count)

            let streamed = try await Self.post("\(base)/v1/chat/completions",
                                               request + #", "stream": true, "stream_options": {"include_usage": true}}"#)
            #expect(streamed.status == 200 && streamed.headers["content-type"]?.hasPrefix("text/event-stream") == true)
            let events = Self.events(streamed.text)
            #expect(events.last == "[DONE]", "\(streamed.text.suffix(500))")
            let chunks = try events.dropLast().map(Self.object)
            #expect(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" })
            var content = ""
            var reasons: [String] = []
            for chunk in chunks {
                for choice in chunk["choices"] as? [[String: Any]] ?? [] {
                    content += (choice["delta"] as? [String: Any])?["content"] as? String ?? ""
                    if let reason = choice["finish_reason"] as? String { reasons.append(reason) }
                }
            }
            #expect(content == expected.text)
            #expect(reasons == [choice["finish_reason"] as? String ?? "?"])
            let usageChunk = try #require(chunks.last)
            #expect((usageChunk["choices"] as? [Any])?.isEmpty == true)
            #expect((usageChunk["usage"] as? [String: Any])?["completion_tokens"] as? Int == expected.tokens.count)

            let scraped = metrics.render(NodeActivity())
            #expect(scraped.contains("tern_completion_requests_total 2"), "\(scraped)")
            #expect(scraped.contains("tern_tokens_generated_total \(2 * expected.tokens.count)"))
            #expect(scraped.contains("tern_completion_latency_seconds_count 2"), "\(scraped)")
            // The stream's gauge drops just after its last byte is sent.
            _ = try await MeshProcessTests.eventually("gauges back to 0", seconds: 30) { () -> Bool? in
                let now = metrics.render(NodeActivity())
                return now.contains("tern_active_streams 0") && now.contains("tern_queue_depth 0") ? true : nil
            }
        }
    }

    @Test func textCompletionsAndBadRequests() async throws {
        try await withServer { base, _, _ in
            let completion = try await Self.post("\(base)/v1/completions",
                                                 #"{"model": "smol", "prompt": "1, 2, 3, 4,", "max_tokens": 6, "temperature": 0, "stop": ["9"]}"#)
            #expect(completion.status == 200, "\(completion.text)")
            let json = try completion.json()
            #expect(json["object"] as? String == "text_completion")
            let choice = try #require((json["choices"] as? [[String: Any]])?.first)
            #expect((choice["text"] as? String)?.hasPrefix(" 5") == true, "\(completion.text)")
            let seeded = #"{"model": "smol", "prompt": "Once upon a time", "max_tokens": 8, "temperature": 0.9, "seed": 7}"#
            let (first, second) = (try await Self.post("\(base)/v1/completions", seeded), try await Self.post("\(base)/v1/completions", seeded))
            let texts = try [first, second].map { try #require(((try $0.json()["choices"]) as? [[String: Any]])?.first?["text"] as? String) }
            #expect(texts[0] == texts[1], "one seed, one continuation")

            let unknown = try HTTP.expectOpenAIError(try await Self.post("\(base)/v1/chat/completions",
                                                                         #"{"model": "nope", "messages": [{"role": "user", "content": "hi"}]}"#), 404)
            #expect(unknown["code"] as? String == "model_not_found" && unknown["param"] as? String == "model")
            let negative = try HTTP.expectOpenAIError(try await Self.post(
                "\(base)/v1/chat/completions", #"{"model": "smol", "max_tokens": -1, "messages": [{"role": "user", "content": "hi"}]}"#), 400)
            #expect(negative["param"] as? String == "max_tokens")
            try HTTP.expectOpenAIError(try await Self.post("\(base)/v1/chat/completions", #"{"model": "smol", "messages": [{"#), 400)
            try HTTP.expectOpenAIError(try await Self.post("\(base)/v1/completions", #"{"model": "smol"}"#), 400)
            let withoutFlag = try HTTP.expectOpenAIError(try await Self.post(
                "\(base)/v1/chat/completions", #"{"model": "smol", "top_logprobs": 2, "messages": [{"role": "user", "content": "hi"}]}"#), 400)
            #expect(withoutFlag["param"] as? String == "top_logprobs")
            try HTTP.expectOpenAIError(try await Self.post("\(base)/v1/chat/completions",
                                                          #"{"model": "smol", "logprobs": true, "top_logprobs": 21, "messages": [{"role": "user", "content": "hi"}]}"#), 400)
            try HTTP.expectOpenAIError(try await Self.post("\(base)/v1/completions", #"{"model": "smol", "prompt": "Hi", "logprobs": -1}"#), 400)
            // Too long for the context (1024 positions here), under the body cap: 400, not a crash.
            let long = String(repeating: "word ", count: 50_000)
            let tooLong = try HTTP.expectOpenAIError(try await Self.post("\(base)/v1/completions",
                                                                         #"{"model": "smol", "prompt": "\#(long)"}"#), 400)
            #expect(tooLong["code"] as? String == "context_length_exceeded", "\(tooLong)")
            // Over the body cap: 413.
            let huge = String(repeating: "word ", count: 2_000_000)
            try HTTP.expectOpenAIError(try await Self.post("\(base)/v1/completions", #"{"model": "smol", "prompt": "\#(huge)"}"#), 413)
            // Still serving.
            let after = try await Self.post("\(base)/v1/completions", #"{"model": "smol", "prompt": "Hi", "max_tokens": 1}"#)
            #expect(after.status == 200)
        }
    }

    /// `logprobs`: one entry per completion token, the sampled token's log-probability and the
    /// k most likely, in chat's list and the legacy arrays, streamed or not.
    @Test func logprobsCoverEveryTokenStreamedOrNot() async throws {
        try await withServer { base, _, _ in
            let chat = #"{"model": "smol", "temperature": 0, "max_tokens": 8, "logprobs": true, "top_logprobs": 3, "messages": [{"role": "user", "content": "Name a colour."}]"#
            let reply = try await Self.post("\(base)/v1/chat/completions", chat + "}")
            #expect(reply.status == 200, "\(reply.text)")
            let json = try reply.json()
            let tokens = try #require((json["usage"] as? [String: Any])?["completion_tokens"] as? Int)
            let choice = try #require((json["choices"] as? [[String: Any]])?.first)
            let content = try #require((choice["logprobs"] as? [String: Any])?["content"] as? [[String: Any]], "\(reply.text)")
            #expect(content.count == tokens)
            for entry in content {
                let logprob = try #require(entry["logprob"] as? Double)
                let top = try #require(entry["top_logprobs"] as? [[String: Any]])
                #expect(top.count == 3 && logprob <= 0)
                // Greedy: the sampled token is the most likely one.
                #expect(top[0]["token"] as? String == entry["token"] as? String)
                #expect(abs((top[0]["logprob"] as? Double ?? 1) - logprob) < 1e-6)
                let values = top.compactMap { $0["logprob"] as? Double }
                #expect(values == values.sorted(by: >))
            }
            let message = try #require((choice["message"] as? [String: Any])?["content"] as? String)
            let bytes = content.flatMap { ($0["bytes"] as? [Int]) ?? [] }.map(UInt8.init)
            #expect(String(decoding: bytes, as: UTF8.self).hasPrefix(message), "the tokens' bytes spell the reply")

            let streamed = try await Self.post("\(base)/v1/chat/completions", chat + #", "stream": true}"#)
            let chunks = try Self.events(streamed.text).dropLast().map(Self.object)
            let streamedEntries = chunks.flatMap { chunk in
                (chunk["choices"] as? [[String: Any]] ?? []).flatMap { ($0["logprobs"] as? [String: Any])?["content"] as? [[String: Any]] ?? [] }
            }
            #expect(streamedEntries.map { $0["token"] as? String } == content.map { $0["token"] as? String })

            let text = try await Self.post("\(base)/v1/completions",
                                           #"{"model": "smol", "prompt": "1, 2, 3,", "max_tokens": 4, "temperature": 0, "logprobs": 2}"#)
            #expect(text.status == 200, "\(text.text)")
            let arrays = try #require(((try text.json()["choices"]) as? [[String: Any]])?.first?["logprobs"] as? [String: Any])
            let names = try #require(arrays["tokens"] as? [String])
            #expect(names.count == 4 && (arrays["token_logprobs"] as? [Double])?.count == 4)
            #expect((arrays["top_logprobs"] as? [[String: Double]])?.allSatisfy { (1...2).contains($0.count) } == true)
            #expect((arrays["text_offset"] as? [Int])?.first == 0)
        }
    }

    @Test func aFullQueueAnswers429WithRetryAfter() async throws {
        var settings = Self.settings()
        settings.maxWaiting = 0
        try await withServer(settings: settings) { base, _, _ in
            let reply = try await Self.post("\(base)/v1/completions", #"{"model": "smol", "prompt": "Hi", "max_tokens": 1}"#)
            let error = try HTTP.expectOpenAIError(reply, 429)
            #expect(error["type"] as? String == "rate_limit_error" && reply.headers["retry-after"] == "1")
        }
    }

    @Test func aClientThatHangsUpMidStreamFreesItsBlocks() async throws {
        try await withServer { base, serving, _ in
            let port = try #require(URL(string: base)?.port)
            let body = #"{"model": "smol", "prompt": "1, 2, 3, 4, 5,", "max_tokens": 900, "temperature": 0, "stream": true}"#
            // Reads until the first token arrives, then closes the connection.
            let got = try await Self.readThenHangUp(port: port, request: """
                POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)
                """, until: #""text":""#)
            #expect(got.contains("200 OK"), "\(got)")
            let freed = try await MeshProcessTests.eventually("blocks freed", seconds: 120) { () async -> ServingEngine.Statistics? in
                guard let stats = await serving.engineStatistics().values.first else { return nil }
                return stats.usedBlocks == 0 && stats.running == 0 && stats.waiting == 0 ? stats : nil
            }
            #expect(freed.tokensGenerated < 900, "cancelled, not run to its end: \(freed)")
            #expect(freed.blocksHeld == 0, "\(freed)")
        }
    }

    /// Sends `request` over a plain socket, reads until `marker` arrives, and closes.
    static func readThenHangUp(port: Int, request: String, until marker: String) async throws -> String {
        try await Subprocess.offPool {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            precondition(fd >= 0)
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            precondition(connected == 0, "connect failed")
            let bytes = Array(request.utf8)
            _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            var received = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 4096)
            let deadline = Date().addingTimeInterval(120)
            while Date() < deadline {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { break }
                received += buffer[0..<n]
                if String(decoding: received, as: UTF8.self).contains(marker) { break }
            }
            return String(decoding: received, as: UTF8.self)
        }
    }
}

extension Subprocess {
    /// Runs blocking work on a thread of its own.
    static func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
        }
    }
}
