import Foundation
import Hummingbird
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
