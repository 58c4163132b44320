import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// `http://HOST[:PORT][/PREFIX]`: where a node's OpenAI API listens. Plain HTTP only — the
/// listener has no TLS; put a proxy in front of it for that.
public struct NodeBaseURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// Path before `/v1/…`, without a trailing slash ("" for none).
    public var prefix: String

    /// Parses `http://127.0.0.1:8080`, `http://[::1]:8080/`, `127.0.0.1:8080` (http implied) or
    /// a URL that already ends in `/v1`.
    public init(_ text: String) throws {
        var rest = text.trimmingCharacters(in: .whitespaces)
        if let scheme = rest.range(of: "://") {
            let name = rest[..<scheme.lowerBound].lowercased()
            guard name == "http" else {
                throw NodeClientError.badURL(text, "only http:// is supported (the node's API listener has no TLS)")
            }
            rest = String(rest[scheme.upperBound...])
        }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = String(rest[..<slash])
        var path = String(rest[slash...])
        while path.hasSuffix("/") { path.removeLast() }
        if path.hasSuffix("/v1") { path.removeLast(3) }
        var host = authority, port = 80
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw NodeClientError.badURL(text, "unclosed [") }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()) else { throw NodeClientError.badURL(text, "bad port") }
                port = p
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            guard let p = Int(authority[authority.index(after: colon)...]) else { throw NodeClientError.badURL(text, "bad port") }
            port = p
        }
        guard !host.isEmpty else { throw NodeClientError.badURL(text, "no host") }
        guard (1...65535).contains(port) else { throw NodeClientError.badURL(text, "port out of range") }
        self.host = host
        self.port = port
        self.prefix = path
    }

    public var description: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "http://\(shownHost):\(port)\(prefix)"
    }
}

/// What can go wrong between a client and a node's API.
public enum NodeClientError: Error, CustomStringConvertible, Sendable {
    case badURL(String, String)
    /// The node could not be reached at all (refused, no route, timed out).
    case unreachable(NodeBaseURL, String)
    /// The node answered with an error status (its OpenAI error message when it sent one).
    case api(status: Int, message: String, code: String?)
    /// The connection or the reply broke off, or the reply is not what the API sends.
    case badResponse(String)

    public var description: String {
        switch self {
        case .badURL(let text, let why): "not a node URL: \(text) (\(why))"
        case .unreachable(let url, let why): "cannot reach the node at \(url): \(why)"
        case .api(let status, let message, let code): "the node answered \(status)\(code.map { " \($0)" } ?? ""): \(message)"
        case .badResponse(let why): "bad response from the node: \(why)"
        }
    }
}

/// A minimal HTTP/1.1 client over SwiftNIO, enough for a node's OpenAI API: one request per
/// connection (`Connection: close`), the body handed over piece by piece as it arrives so a
/// server-sent-event stream can be shown while it is generated. Chunked replies are decoded
/// by NIO's `HTTPResponseDecoder`.
public struct NodeHTTPClient: Sendable {
    public var base: NodeBaseURL
    /// Seconds to wait for the TCP connection.
    public var connectTimeout: Int64 = 10

    public init(base: NodeBaseURL) { self.base = base }

    /// Sends one request and calls `onHead` with the status and headers, then `onBody` with
    /// each piece of the body as it arrives.
    public func send(method: HTTPMethod, path: String, headers: [(String, String)] = [], body: Data? = nil,
                     onHead: (Int, HTTPHeaders) async throws -> Void,
                     onBody: ([UInt8]) async throws -> Void) async throws {
        let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(connectTimeout))
                .connect(host: base.host, port: base.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw NodeClientError.unreachable(base, Self.describe(error))
        }
        try await channel.executeThenClose { inbound, outbound in
            var head = HTTPRequestHead(version: .http1_1, method: method, uri: base.prefix + path)
            let shownHost = base.host.contains(":") ? "[\(base.host)]" : base.host
            head.headers.add(name: "Host", value: "\(shownHost):\(base.port)")
            head.headers.add(name: "Connection", value: "close")
            head.headers.add(name: "User-Agent", value: "tern")
            for (name, value) in headers { head.headers.add(name: name, value: value) }
            if let body { head.headers.add(name: "Content-Length", value: String(body.count)) }
            try await outbound.write(.head(head))
            if let body, !body.isEmpty { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
            try await outbound.write(.end(nil))

            var sawHead = false
            for try await part in inbound {
                switch part {
                case .head(let response):
                    // 1xx interim answers (100 Continue) are followed by the real head.
                    if response.status.code < 200 { continue }
                    sawHead = true
                    try await onHead(Int(response.status.code), response.headers)
                case .body(var buffer):
                    if let bytes = buffer.readBytes(length: buffer.readableBytes), !bytes.isEmpty { try await onBody(bytes) }
                case .end:
                    guard sawHead else { throw NodeClientError.badResponse("the reply ended before its status line") }
                    return
                }
            }
            throw NodeClientError.badResponse(sawHead ? "the connection closed mid-reply" : "the connection closed without a reply")
        }
    }

    static func describe(_ error: any Error) -> String {
        if let connect = error as? NIOConnectionError {
            if let first = connect.connectionErrors.first { return describe(first.error) }
            if connect.dnsAAAAError != nil || connect.dnsAError != nil { return "cannot resolve \(connect.host)" }
        }
        if let io = error as? IOError {
            switch io.errnoCode {
            case ECONNREFUSED: return "connection refused (is the node running with --api?)"
            case ETIMEDOUT: return "connection timed out"
            case EHOSTUNREACH, ENETUNREACH: return "no route to host"
            default: return String(describing: io)
            }
        }
        if error is ChannelError { return "connection timed out" }
        return String(describing: error)
    }
}
