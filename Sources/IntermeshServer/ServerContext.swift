import Foundation
import Hummingbird
import IntermeshAPI
import IntermeshStore

/// Who is calling: the verified token's role and scope.
public struct Principal: Sendable, Equatable {
    public var tokenId: String
    public var role: Role
    public var run: String?
    public var site: String?

    public var name: String { "\(role.rawValue):\(tokenId)" }

    public init(tokenId: String, role: Role, run: String?, site: String?) {
        self.tokenId = tokenId
        self.role = role
        self.run = run
        self.site = site
    }
}

/// The request context of the API: Hummingbird's core storage, the upload limit and the caller.
public struct ServerContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var principal: Principal?

    public init(source: Source) {
        coreContext = .init(source: source)
    }

    /// Bodies above this are refused with 413 before they are read whole.
    public var maxUploadSize: Int { 5 * 1024 * 1024 }

    func require(_ check: (Principal) -> Bool, _ what: String) throws -> Principal {
        guard let principal else { throw APIError.unauthorized("missing bearer token") }
        guard check(principal) else { throw APIError.forbidden("a \(principal.role.rawValue) token may not \(what)") }
        return principal
    }

    /// Reading runs: any token; agents only their own run.
    func requireReader(run: String? = nil) throws -> Principal {
        try require({ $0.role != .agent || (run != nil && $0.run == run) }, "read this")
    }

    /// What names other sites' members (events, the diff): people's tokens; an agent needs none of it.
    func requireViewer() throws -> Principal {
        try require({ $0.role != .agent }, "read another site's members")
    }

    /// Changing runs: admin and operator.
    func requireOperator() throws -> Principal {
        try require({ $0.role == .admin || $0.role == .operator }, "change runs")
    }

    func requireAdmin() throws -> Principal {
        try require({ $0.role == .admin }, "manage tokens")
    }

    /// Member traffic: admin, or an agent token of exactly this run and site.
    func requireSite(run: String, site: String) throws -> Principal {
        guard let principal else { throw APIError.unauthorized("missing bearer token") }
        if principal.role == .admin { return principal }
        guard principal.role == .agent else { throw APIError.forbidden("a \(principal.role.rawValue) token may not act for a site") }
        guard principal.run == run, principal.site == site else {
            throw APIError.forbidden("this token is for site \(principal.site ?? "?") of run \(principal.run ?? "?"), not \(site) of \(run)")
        }
        return principal
    }
}

/// Verifies `Authorization: Bearer imt_...` against the store, or the console's session cookie; every route but the
/// OpenAPI document and the console's own page, assets and sign-in needs one. A write with the cookie must also pass
/// the console's cross-site check.
struct AuthMiddleware: RouterMiddleware {
    let store: any Store
    let now: @Sendable () -> Date

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if path == "/" || path.hasPrefix("/console/") || path == "/v1/openapi.json" { return try await next(request, context) }
        let text: String
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw APIError.unauthorized("invalid bearer token") }
            text = String(parts[1])
        } else if let cookie = request.cookies[ConsoleSession.tokenCookie]?.value, !cookie.isEmpty {
            if request.method != .get, request.method != .head { try ConsoleSession.checkWrite(request) }
            text = cookie
        } else {
            throw APIError.unauthorized("missing bearer token")
        }
        let record = try await Self.verify(text, store: store, now: now())
        var context = context
        context.principal = Principal(tokenId: record.id, role: record.role, run: record.run, site: record.site)
        return try await next(request, context)
    }

    /// The stored record of a token's text, unless the text is not a token, the secret is wrong, or it expired.
    static func verify(_ text: String, store: any Store, now: Date) async throws -> TokenRecord {
        guard let (id, secret) = AccessToken.parse(text), let record = try await store.token(id: id),
              AccessToken.verify(secret: secret, against: record) else {
            throw APIError.unauthorized("invalid bearer token")
        }
        guard !record.isExpired(at: now) else { throw APIError.unauthorized("the bearer token expired") }
        return record
    }
}
