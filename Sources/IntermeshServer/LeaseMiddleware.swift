import Hummingbird

/// On a shared store, only the lease's holder answers: before a request and again before its answer leaves (a long
/// poll may outlast the lease), so a server past its lease hands out nothing decided from memory.
struct LeaseMiddleware: RouterMiddleware {
    let lease: ServerLease

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        try check()
        let response = try await next(request, context)
        try check()
        return response
    }

    func check() throws {
        guard lease.isHeld else {
            throw APIError(.serviceUnavailable, "not_active", "this server's lease on the store ended: it is not the active server any more")
        }
    }
}
