import Foundation
import Hummingbird
import Logging

/// Turns every error a route, a later middleware or the router throws (an unknown route is
/// Hummingbird's 404) into an OpenAI-shaped response, so clients always get
/// `{"error": {…}}` with the right status. Errors inside the node are logged and answered
/// with a plain 500 that does not leak their text.
struct OpenAIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound && error.body == nil {
            return OpenAIError.unknownRoute(request.method.rawValue, request.uri.path).response()
        } catch {
            let converted = OpenAIError(converting: error)
            if converted.status.code >= 500 {
                context.logger.error("API request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            }
            return converted.response()
        }
    }
}

/// Refuses a body whose declared length is over the cap (413) before any route reads it.
/// A body without a length (chunked) is capped where it is read (`decodeOpenAIJSON`).
struct BodyLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    let limit: Int

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limit {
            throw OpenAIError.bodyTooLarge(limit: limit)
        }
        return try await next(request, context)
    }
}

/// With `--api-key-file`, every `/v1/…` request must carry `Authorization: Bearer <key>`
/// (compared in constant time). The status page, its JSON and `/metrics` stay open to
/// whoever can reach the listener, as monitoring expects.
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let key: ControlToken

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.uri.path.hasPrefix("/v1/") || request.uri.path == "/v1" else {
            return try await next(request, context)
        }
        let header = request.headers[.authorization] ?? ""
        guard header.hasPrefix("Bearer "), key.matches(header.dropFirst("Bearer ".count)) else {
            throw OpenAIError.invalidAPIKey
        }
        return try await next(request, context)
    }
}

/// Counts every answered request by route, method and status, and times it
/// (`tern_http_requests_total`, `tern_http_request_duration_seconds`).
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: NodeMetrics

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let method = countedMethods.contains(request.method.rawValue) ? request.method.rawValue : "other"
        do {
            let response = try await next(request, context)
            metrics.recordRequest(path: context.endpointPath ?? "unmatched", method: method,
                                  status: response.status.code, duration: started.duration(to: .now))
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.recordRequest(path: context.endpointPath ?? "unmatched", method: method, status: status,
                                  duration: started.duration(to: .now))
            throw error
        }
    }
}

/// The methods counted by name; anything else a client invents is `other`.
private let countedMethods: Set<String> = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"]
