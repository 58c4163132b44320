import Foundation
import Hummingbird
import Logging
import NIOCore

/// The request context of the public API listener: bodies are capped at
/// `APIServer.maxBodyBytes` when decoded.
public struct APIRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public init(source: Source) { coreContext = .init(source: source) }
    public var maxUploadSize: Int { APIServer.maxBodyBytes }
}

/// The router routes are added to (`APIServer.application(… routes:)`).
public typealias APIRouter = Router<APIRequestContext>

/// The node's public HTTP listener (`tern node start --api HOST:PORT`): the
/// OpenAI-compatible `/v1/…` API, Prometheus `/metrics`, and the status page at `/` with the
/// `/status.json` it reads. It runs beside the control API, which stays loopback-only and
/// token-guarded; this one is what users and their tools reach.
public enum APIServer {
    /// The largest request body accepted (413 above it). A chat request with a long prompt
    /// fits easily; a client cannot make the node buffer more.
    public static let maxBodyBytes = 1 << 20

    /// Builds the listener. `key`: when set, every `/v1/…` request must carry
    /// `Authorization: Bearer <key>`. `routes` adds more routes (completions) to the router
    /// after the built-in ones, behind the same middleware. `onListening` receives the bound
    /// port (the configured one, or the one the system picked for port 0).
    public static func application(
        address: HostPort,
        key: ControlToken?,
        observer: some NodeObserver,
        metrics: NodeMetrics,
        logger: Logger,
        routes: @Sendable (APIRouter) -> Void = { _ in },
        onListening: @escaping @Sendable (Int) async -> Void
    ) -> some ApplicationProtocol {
        let router = APIRouter(context: APIRequestContext.self)
        // Outermost first: every answer is counted, errors become OpenAI JSON, oversized
        // bodies are refused before anything reads them, then the key is checked.
        router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
        router.add(middleware: OpenAIErrorMiddleware())
        router.add(middleware: BodyLimitMiddleware(limit: maxBodyBytes))
        if let key { router.add(middleware: APIKeyMiddleware(key: key)) }
        addBuiltInRoutes(to: router, observer: observer, metrics: metrics)
        routes(router)
        return Application(
            router: router,
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: "tern"),
            onServerRunning: { channel in
                await onListening(channel.localAddress?.port ?? address.port)
            },
            logger: logger
        )
    }

    static func addBuiltInRoutes(to router: APIRouter, observer: some NodeObserver, metrics: NodeMetrics) {
        router.get("/v1/models") { _, _ in
            let status = await observer.status()
            let list = ModelCatalog.list(local: observer.localModels(), members: await observer.members(),
                                         selfFingerprint: status.fingerprint)
            return try JSONBody(list)
        }
        router.get("/v1/models/:model") { _, context in
            let wanted = context.parameters.get("model") ?? ""
            let status = await observer.status()
            let list = ModelCatalog.list(local: observer.localModels(), members: await observer.members(),
                                         selfFingerprint: status.fingerprint)
            guard let model = list.data.first(where: { $0.id == wanted }) else { throw OpenAIError.modelNotFound(wanted) }
            return try JSONBody(model)
        }
        router.get("/metrics") { _, _ in
            let text = metrics.render(await observer.activity())
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        router.get("/status.json") { _, _ in
            try JSONBody(await StatusSnapshot.gather(from: observer), cacheable: false)
        }
        router.get("/") { _, _ in
            Response(status: .ok, headers: StatusPage.headers, body: .init(byteBuffer: ByteBuffer(string: StatusPage.html)))
        }
    }
}

/// A JSON response body encoded with sorted keys and ISO-8601 dates.
public struct JSONBody: ResponseGenerator {
    let data: Data
    let cacheable: Bool

    public init(_ value: some Encodable, cacheable: Bool = true) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        // A loss a peer reported may be NaN or infinite; JSON has no such numbers, and a
        // throwing encoder would turn one bad report into a failed page.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        data = try encoder.encode(value)
        self.cacheable = cacheable
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if !cacheable { headers[.cacheControl] = "no-store" }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Written by the daemon to `api.json` in its data directory once the API listener accepts
/// connections: where it listens (the port the system picked for `--api HOST:0`).
public struct APIEndpoint: Codable, Sendable, Equatable {
    public var host: String
    public var port: Int
    public var pid: Int32
    public init(host: String, port: Int, pid: Int32) { self.host = host; self.port = port; self.pid = pid }

    /// `http://HOST:PORT`, for clients.
    public var baseURL: String { "http://\(HostPort(host: host, port: port))" }
}
