import Foundation
import Hummingbird
import NIOCore

/// An error as OpenAI's API sends it: the status code, and the body
/// `{"error": {"message", "type", "param", "code"}}` that every client library parses into
/// its own exception (`openai.NotFoundError`, `openai.RateLimitError`, …).
///
/// Throw one from any route of the API listener; `OpenAIErrorMiddleware` turns it, and any
/// other error, into this shape.
public struct OpenAIError: Error, Sendable, Equatable, HTTPResponseError, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String
    /// OpenAI's error class: `invalid_request_error`, `authentication_error`, `rate_limit_error`, `server_error`, …
    public var type: String
    /// The request field at fault, when there is one (`model`, `max_tokens`).
    public var param: String?
    /// A machine-readable code (`invalid_api_key`, `model_not_found`, …).
    public var code: String?
    /// Seconds a client should wait before retrying (sent as `Retry-After`).
    public var retryAfterSeconds: Int?

    public init(_ status: HTTPResponse.Status, message: String, type: String = "invalid_request_error",
                param: String? = nil, code: String? = nil, retryAfterSeconds: Int? = nil) {
        self.status = status; self.message = message; self.type = type; self.param = param; self.code = code
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String { "\(status.code) \(type): \(message)" }

    // MARK: The errors routes share

    /// 401: no `Authorization: Bearer` header, or the wrong key.
    public static let invalidAPIKey = OpenAIError(
        .unauthorized, message: "Incorrect or missing API key: send 'Authorization: Bearer <key>'.",
        type: "authentication_error", code: "invalid_api_key")

    /// 404: no route here.
    public static func unknownRoute(_ method: String, _ path: String) -> OpenAIError {
        OpenAIError(.notFound, message: "Unknown request URL: \(method) \(clipped(path)).", code: "unknown_url")
    }

    /// 404: no model of that name or blob id here or on the mesh.
    public static func modelNotFound(_ model: String) -> OpenAIError {
        OpenAIError(.notFound, message: "The model '\(clipped(model))' does not exist on this node or its mesh.",
                    param: "model", code: "model_not_found")
    }

    /// 400: the body is not the JSON the route expects.
    public static func malformedJSON(_ why: String) -> OpenAIError {
        OpenAIError(.badRequest, message: "We could not parse the JSON body of your request: \(clipped(why))",
                    code: "invalid_json")
    }

    /// 400: a field has a value the route cannot use.
    public static func invalidValue(_ param: String, _ why: String) -> OpenAIError {
        OpenAIError(.badRequest, message: clipped(why), param: param, code: "invalid_value")
    }

    /// 413: the body is over the listener's cap.
    public static func bodyTooLarge(limit: Int) -> OpenAIError {
        OpenAIError(.contentTooLarge, message: "Request body too large: the limit is \(limit) bytes.",
                    code: "request_too_large")
    }

    /// 429: the queue is full; the client should retry after `seconds`.
    public static func queueFull(retryAfterSeconds seconds: Int) -> OpenAIError {
        OpenAIError(.tooManyRequests, message: "This node's request queue is full; retry in \(seconds) s.",
                    type: "rate_limit_error", code: "queue_full", retryAfterSeconds: seconds)
    }

    /// 500: something failed inside the node (the message never includes the details).
    public static let internalError = OpenAIError(
        .internalServerError, message: "The node failed to answer this request.", type: "server_error", code: "internal_error")

    // MARK: Response

    struct Body: Encodable {
        struct Inner: Encodable {
            let message: String
            let type: String
            let param: String?
            let code: String?

            func encode(to encoder: any Encoder) throws {
                // OpenAI sends `null` for the fields it has no value for; clients expect the keys.
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(message, forKey: .message)
                try container.encode(type, forKey: .type)
                try container.encode(param, forKey: .param)
                try container.encode(code, forKey: .code)
            }
            enum CodingKeys: String, CodingKey { case message, type, param, code }
        }
        let error: Inner
    }

    /// The JSON body, as bytes.
    public var body: Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(Body(error: .init(message: message, type: type, param: param, code: code))))
            ?? Data(#"{"error":{"message":"error","type":"server_error","param":null,"code":null}}"#.utf8)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        response()
    }

    /// The response for this error, outside a route (middleware).
    public func response() -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfterSeconds { headers[.retryAfter] = "\(retryAfterSeconds)" }
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// Client text echoed in a message, cut so an error never repeats a megabyte back.
    static func clipped(_ text: String, to limit: Int = 200) -> String {
        text.count <= limit ? text : String(text.prefix(limit)) + "…"
    }
}

extension OpenAIError {
    /// The OpenAI-shaped equivalent of any error a route or Hummingbird threw.
    public init(converting error: any Error) {
        switch error {
        case let error as OpenAIError:
            self = error
        case is NIOTooManyBytesError:
            self = .bodyTooLarge(limit: APIServer.maxBodyBytes)
        case let error as DecodingError:
            self = .malformedJSON(Self.describe(error))
        case let error as HTTPError:
            self.init(error.status, message: error.body ?? error.status.reasonPhrase,
                      type: error.status.code >= 500 ? "server_error" : "invalid_request_error")
        case let error as any HTTPResponseError where error.status.code < 500:
            self.init(error.status, message: error.status.reasonPhrase)
        default:
            self = .internalError
        }
    }

    /// Says where JSON decoding failed, without echoing the body.
    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map(\.stringValue).joined(separator: ".")
            return keys.isEmpty ? "" : " at '\(keys)'"
        }
        switch error {
        case let .dataCorrupted(context): return "the body is not valid JSON\(path(context))"
        case let .keyNotFound(key, context): return "missing field '\(key.stringValue)'\(path(context))"
        case let .typeMismatch(type, context): return "expected \(type)\(path(context))"
        case let .valueNotFound(type, context): return "expected \(type), found null\(path(context))"
        @unknown default: return "the body is not the expected JSON"
        }
    }
}

extension Request {
    /// Decodes the JSON body as `T`, or throws the OpenAI error a client should see: 413 when
    /// the body is over the listener's cap, 400 (with where it failed) when it is not `T`.
    public func decodeOpenAIJSON<T: Decodable>(_ type: T.Type, context: some RequestContext) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await body.collect(upTo: APIServer.maxBodyBytes)
        } catch {
            throw OpenAIError.bodyTooLarge(limit: APIServer.maxBodyBytes)
        }
        guard buffer.readableBytes > 0 else { throw OpenAIError.malformedJSON("the body is empty") }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw OpenAIError.malformedJSON(OpenAIError.describe(error))
        } catch {
            throw OpenAIError.malformedJSON("the body is not valid JSON")
        }
    }
}
