import Foundation
import Hummingbird
import TernMesh
import Logging

/// The daemon's control API: HTTP/JSON on 127.0.0.1 only, every request must carry
/// `Authorization: Bearer <token>` with the token from the 0600 token file.
public enum ControlServer {
    /// Builds the application. `port` 0 picks a free port; `onListening` receives the
    /// bound port once the server accepts connections.
    public static func application(
        handler: some ControlHandler,
        token: ControlToken,
        port: Int = 0,
        logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void
    ) -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: BearerTokenMiddleware(token: token))
        router.get("/v1/status") { _, _ in
            try JSONResponse(await handler.status())
        }
        router.get("/v1/peers") { _, _ in
            try JSONResponse(await handler.peers())
        }
        router.post("/v1/join") { request, context in
            let body = try await request.decode(as: JoinRequest.self, context: context)
            do {
                return try JSONResponse(try await handler.join(address: body.address))
            } catch {
                // The CLI shows this text: say why the join failed, not just "500".
                throw HTTPError(.badGateway, message: "cannot join through \(body.address): \(error)")
            }
        }
        router.post("/v1/blobs/add") { request, context in
            let body = try await request.decode(as: BlobAddRequest.self, context: context)
            return try await answer { try await handler.addBlob(body) }
        }
        router.post("/v1/blobs/get") { request, context in
            let body = try await request.decode(as: BlobGetRequest.self, context: context)
            return try await answer { try await handler.getBlob(body) }
        }
        router.get("/v1/blobs") { _, _ in
            try await answer { try await handler.blobs() }
        }
        router.post("/v1/blobs/remove") { request, context in
            let body = try await request.decode(as: BlobRemoveRequest.self, context: context)
            return try await answer { try await handler.removeBlob(body.id); return EmptyReply() }
        }
        router.post("/v1/jobs/generate") { request, context in
            let body = try await request.decode(as: GenerateJobRequest.self, context: context)
            return try await answer { try await handler.generate(body) }
        }
        router.post("/v1/finetune") { request, context in
            let body = try await request.decode(as: FineTuneDispatchRequest.self, context: context)
            return try await answer { try await handler.dispatchFineTune(body) }
        }
        router.get("/v1/finetune") { _, _ in
            try await answer { try await handler.fineTuneStatus(nil) }
        }
        router.get("/v1/finetune/:id") { _, context in
            let id = context.parameters.get("id") ?? ""
            return try await answer { try await handler.fineTuneStatus(id) }
        }
        router.post("/v1/finetune/:id/cancel") { _, context in
            let id = context.parameters.get("id") ?? ""
            return try await answer { try await handler.cancelFineTune(id) }
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "tern"),
            onServerRunning: { channel in
                await onListening(channel.localAddress?.port ?? port)
            },
            logger: logger
        )
    }
}

/// Runs a handler call and turns its error into an HTTP error whose message the CLI prints:
/// a bad request is 400, something missing 404, a busy peer 503, anything else 502 (the
/// daemon was fine; the mesh or the input was not).
func answer(_ work: () async throws -> some Encodable) async throws -> JSONResponse {
    do {
        return try JSONResponse(try await work())
    } catch let failure as TaskFailure {
        let status: HTTPResponse.Status = switch failure.code {
        case .badRequest, .tooLarge: .badRequest
        case .notFound: .notFound
        case .busy: .serviceUnavailable
        default: .badGateway
        }
        throw HTTPError(status, message: failure.message)
    } catch let error as HTTPError {
        throw error
    } catch {
        throw HTTPError(.badGateway, message: "\(error)")
    }
}

/// Rejects any request whose bearer token does not match, before routing.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: ControlToken

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        let header = request.headers[.authorization] ?? ""
        guard header.hasPrefix("Bearer "), token.matches(header.dropFirst("Bearer ".count)) else {
            throw HTTPError(.unauthorized, message: "missing or wrong control token")
        }
        return try await next(request, context)
    }
}

/// A JSON body with stable key order and ISO-8601 dates, for both `tern … --json` and humans.
struct JSONResponse: ResponseGenerator {
    let data: Data

    init(_ value: some Encodable) throws {
        data = try ControlJSON.encoder.encode(value)
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// The one JSON configuration both ends of the control API use.
public enum ControlJSON {
    public static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted]
        e.dateEncodingStrategy = .iso8601
        return e
    }
    public static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }
}
