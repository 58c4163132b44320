import Foundation
import NIOHTTP1

/// A client of a node's OpenAI-compatible API (docs/api.md), used by `tern run --node` and
/// `tern chat --node`: lists the models and streams completions, handing over each piece of
/// text as its server-sent event arrives.
public struct NodeAPIClient: Sendable {
    public var http: NodeHTTPClient
    public var apiKey: String?

    public init(base: NodeBaseURL, apiKey: String? = nil) {
        self.http = NodeHTTPClient(base: base)
        self.apiKey = apiKey
    }

    /// The base URL of the node whose data directory is `directory`, from its `api.json`.
    public static func localBase(directory: NodeDirectory) throws -> NodeBaseURL {
        let file = directory.apiEndpointFile
        guard let data = FileManager.default.contents(atPath: file.path) else {
            throw NodeClientError.badResponse("no \(file.path): is the node running with --api? (or pass --node URL)")
        }
        guard let endpoint = try? JSONDecoder().decode(APIEndpoint.self, from: data) else {
            throw NodeClientError.badResponse("\(file.path) is not an API endpoint file")
        }
        return try NodeBaseURL(endpoint.baseURL)
    }

    /// One message of a chat request.
    public struct Message: Sendable, Equatable {
        public var role: String
        public var content: String
        public init(role: String, content: String) { self.role = role; self.content = content }
    }

    /// Sampling parameters, as OpenAI names them; nil leaves the node's default.
    public struct Parameters: Sendable {
        public var maxTokens: Int?
        public var temperature: Float?
        public var topP: Float?
        public var seed: UInt64?
        public var stop: [String] = []
        public init(maxTokens: Int? = nil, temperature: Float? = nil, topP: Float? = nil, seed: UInt64? = nil, stop: [String] = []) {
            self.maxTokens = maxTokens; self.temperature = temperature; self.topP = topP; self.seed = seed; self.stop = stop
        }
    }

    /// How a streamed completion ended.
    public struct Completion: Sendable {
        public var text = ""
        public var finishReason: String?
        public var promptTokens: Int?
        public var completionTokens: Int?
        /// Seconds from sending the request to the first piece of text, and to the end.
        public var firstTextSeconds: Double?
        public var totalSeconds: Double = 0
    }

    /// The ids `/v1/models` lists, in its order.
    public func models() async throws -> [String] {
        let (status, body) = try await collect(method: .GET, path: "/v1/models", body: nil)
        guard status == 200 else { throw Self.apiError(status: status, body: body) }
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
              let data = object["data"] as? [[String: Any]] else {
            throw NodeClientError.badResponse("/v1/models is not a model list")
        }
        return data.compactMap { $0["id"] as? String }
    }

    /// `POST /v1/chat/completions`, streamed: `onText` gets each piece of the reply.
    public func chat(model: String, messages: [Message], parameters: Parameters,
                     onText: (String) async throws -> Void) async throws -> Completion {
        var body = Self.body(model: model, parameters: parameters)
        body["messages"] = messages.map { ["role": $0.role, "content": $0.content] }
        return try await stream(path: "/v1/chat/completions", body: body, onText: onText)
    }

    /// `POST /v1/completions`, streamed: `onText` gets each piece of the continuation.
    public func complete(model: String, prompt: String, parameters: Parameters,
                         onText: (String) async throws -> Void) async throws -> Completion {
        var body = Self.body(model: model, parameters: parameters)
        body["prompt"] = prompt
        return try await stream(path: "/v1/completions", body: body, onText: onText)
    }

    static func body(model: String, parameters: Parameters) -> [String: Any] {
        var body: [String: Any] = ["model": model, "stream": true, "stream_options": ["include_usage": true]]
        if let maxTokens = parameters.maxTokens { body["max_tokens"] = maxTokens }
        if let temperature = parameters.temperature { body["temperature"] = Double(temperature) }
        if let topP = parameters.topP { body["top_p"] = Double(topP) }
        if let seed = parameters.seed { body["seed"] = NSNumber(value: seed) }
        if !parameters.stop.isEmpty { body["stop"] = parameters.stop }
        return body
    }

    private var headers: [(String, String)] {
        var headers = [("Content-Type", "application/json"), ("Accept", "text/event-stream")]
        if let apiKey, !apiKey.isEmpty { headers.append(("Authorization", "Bearer \(apiKey)")) }
        return headers
    }

    private func collect(method: HTTPMethod, path: String, body: Data?) async throws -> (Int, Data) {
        var status = 0
        var data = Data()
        try await http.send(method: method, path: path, headers: headers, body: body,
                            onHead: { code, _ in status = code }, onBody: { data.append(contentsOf: $0) })
        return (status, data)
    }

    private func stream(path: String, body: [String: Any], onText: (String) async throws -> Void) async throws -> Completion {
        let json = try JSONSerialization.data(withJSONObject: body)
        let start = ContinuousClock.now
        var completion = Completion()
        var status = 0
        var errorBody = Data()
        var events = ServerSentEventParser()
        var done = false
        func seconds() -> Double {
            let elapsed = ContinuousClock.now - start
            return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        }
        try await http.send(method: .POST, path: path, headers: headers, body: json,
                            onHead: { code, _ in status = code },
                            onBody: { bytes in
            guard status == 200 else { errorBody.append(contentsOf: bytes); return }
            for data in events.feed(bytes) {
                if data == "[DONE]" { done = true; continue }
                guard let chunk = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any] else {
                    throw NodeClientError.badResponse("an event is not JSON: \(data.prefix(200))")
                }
                if let error = chunk["error"] as? [String: Any] {
                    throw NodeClientError.api(status: status, message: error["message"] as? String ?? "generation failed",
                                              code: error["code"] as? String)
                }
                if let usage = chunk["usage"] as? [String: Any] {
                    completion.promptTokens = usage["prompt_tokens"] as? Int
                    completion.completionTokens = usage["completion_tokens"] as? Int
                }
                for choice in chunk["choices"] as? [[String: Any]] ?? [] {
                    let text = (choice["delta"] as? [String: Any])?["content"] as? String ?? choice["text"] as? String ?? ""
                    if !text.isEmpty {
                        if completion.firstTextSeconds == nil { completion.firstTextSeconds = seconds() }
                        completion.text += text
                        try await onText(text)
                    }
                    if let reason = choice["finish_reason"] as? String { completion.finishReason = reason }
                }
            }
        })
        guard status == 200 else { throw Self.apiError(status: status, body: errorBody) }
        guard done else { throw NodeClientError.badResponse("the stream ended without [DONE]") }
        completion.totalSeconds = seconds()
        return completion
    }

    /// The node's OpenAI error message, or the status and the start of the body.
    static func apiError(status: Int, body: Data) -> NodeClientError {
        if let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
           let error = object["error"] as? [String: Any], let message = error["message"] as? String {
            return .api(status: status, message: message, code: error["code"] as? String)
        }
        let text = String(decoding: body.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return .api(status: status, message: text.isEmpty ? "no message" : text, code: nil)
    }
}

/// Splits a `text/event-stream` body into the `data` of each event, whatever the pieces it
/// arrives in. Lines end in LF, CR LF or CR; an event ends at an empty line; several `data:`
/// lines of one event are joined with LF; comments (`:`) and other fields are skipped.
public struct ServerSentEventParser: Sendable {
    private var line: [UInt8] = []
    private var data: [String] = []
    private var lastWasCR = false

    public init() {}

    /// The data of every event that `bytes` completes.
    public mutating func feed(_ bytes: [UInt8]) -> [String] {
        var events: [String] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n"), lastWasCR { lastWasCR = false; continue }
            lastWasCR = byte == UInt8(ascii: "\r")
            guard byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") else { line.append(byte); continue }
            if line.isEmpty {
                if !data.isEmpty { events.append(data.joined(separator: "\n")); data.removeAll() }
            } else {
                let text = String(decoding: line, as: UTF8.self)
                line.removeAll(keepingCapacity: true)
                if text == "data" {
                    data.append("")
                } else if text.hasPrefix("data:") {
                    var value = text.dropFirst(5)
                    if value.hasPrefix(" ") { value = value.dropFirst() }
                    data.append(String(value))
                }
            }
        }
        return events
    }
}
