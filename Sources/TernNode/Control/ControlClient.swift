import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// What the CLI uses to talk to a running daemon: finds its port and token in the data
/// directory and calls the loopback control API.
public struct ControlClient: Sendable {
    public let port: Int
    public let token: ControlToken

    public init(port: Int, token: ControlToken) {
        self.port = port
        self.token = token
    }

    /// Connects to the daemon that owns `directory`.
    public init(directory: NodeDirectory) throws {
        guard let data = FileManager.default.contents(atPath: directory.controlEndpointFile.path),
              let endpoint = try? ControlJSON.decoder.decode(ControlEndpoint.self, from: data) else {
            throw ControlError.notRunning(directory.url.path)
        }
        self.init(port: endpoint.port, token: try ControlToken.read(from: directory.controlTokenFile))
    }

    public func status() async throws -> NodeStatusReply {
        try await call("GET", "/v1/status", body: Optional<JoinRequest>.none)
    }

    public func peers() async throws -> [PeerRow] {
        try await call("GET", "/v1/peers", body: Optional<JoinRequest>.none)
    }

    public func join(address: String) async throws -> JoinReply {
        try await call("POST", "/v1/join", body: JoinRequest(address: address))
    }

    public func addBlob(_ body: BlobAddRequest) async throws -> BlobInfo {
        // Hashing a large file takes a while (about a second a GiB).
        try await call("POST", "/v1/blobs/add", body: body, timeout: 3600)
    }

    public func getBlob(_ body: BlobGetRequest) async throws -> BlobFetchReport {
        try await call("POST", "/v1/blobs/get", body: body, timeout: 24 * 3600)
    }

    public func blobs() async throws -> [BlobInfo] {
        try await call("GET", "/v1/blobs", body: Optional<JoinRequest>.none)
    }

    public func removeBlob(id: String) async throws {
        let _: EmptyReply = try await call("POST", "/v1/blobs/remove", body: BlobRemoveRequest(id: id))
    }

    public func generate(_ body: GenerateJobRequest) async throws -> JobRunReply {
        try await call("POST", "/v1/jobs/generate", body: body, timeout: 3600)
    }

    public func dispatchFineTune(_ body: FineTuneDispatchRequest) async throws -> FineTuneStatus {
        // Registering the model and dataset hashes them first.
        try await call("POST", "/v1/finetune", body: body, timeout: 3600)
    }

    public func fineTuneStatus(_ id: String? = nil) async throws -> [FineTuneStatus] {
        try await call("GET", id.map { "/v1/finetune/\($0)" } ?? "/v1/finetune", body: Optional<JoinRequest>.none)
    }

    public func cancelFineTune(_ id: String) async throws -> FineTuneStatus {
        try await call("POST", "/v1/finetune/\(id)/cancel", body: Optional<JoinRequest>.none)
    }

    private func call<Body: Encodable, Reply: Decodable>(
        _ method: String, _ path: String, body: Body?, timeout: TimeInterval = 10
    ) async throws -> Reply {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        request.timeoutInterval = timeout
        request.setValue("Bearer \(token.value)", forHTTPHeaderField: "Authorization")
        if let body {
            request.httpBody = try JSONEncoder().encode(body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response): (Data, URLResponse)
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            throw ControlError.unreachable("127.0.0.1:\(port): \(error.localizedDescription)")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        if status == 401 { throw ControlError.unauthorized }
        guard status == 200 else {
            let message = (try? JSONDecoder().decode(DaemonErrorBody.self, from: data))?.error.message
            throw ControlError.daemon(status: status, message: message ?? String(decoding: data, as: UTF8.self))
        }
        return try ControlJSON.decoder.decode(Reply.self, from: data)
    }
}

/// Hummingbird sends an error as `{"error":{"message":…}}`.
private struct DaemonErrorBody: Decodable {
    struct Inner: Decodable { let message: String }
    let error: Inner
}
