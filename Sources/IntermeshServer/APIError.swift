import Foundation
import Hummingbird
import IntermeshAPI
import NIOCore

/// An API failure with a stable code: rendered as `{"error": {"code", "message", "details"}}` and a 4xx status.
public struct APIError: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var details: [String]
    /// Sent with the error (Retry-After, for one).
    public var headers: HTTPFields = [.contentType: "application/json"]
    /// The active server's address, on a standby's answer.
    public var active: String?

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, details: [String] = [], active: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.active = active
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    var body: Data {
        (try? WireCoding.encoder.encode(ErrorBody(code: code, message: message, details: details, active: active))) ?? Data()
    }

    static func unauthorized(_ message: String) -> APIError { APIError(.unauthorized, "unauthorized", message) }
    static func forbidden(_ message: String) -> APIError { APIError(.forbidden, "forbidden", message) }
    static func notFound(_ message: String) -> APIError { APIError(.notFound, "not_found", message) }
    static func badRequest(_ message: String, details: [String] = []) -> APIError { APIError(.badRequest, "bad_request", message, details: details) }
    /// A member that was lost and whose slot was relaunched: it must stop.
    static func replaced(_ member: String, slot: String) -> APIError {
        APIError(.conflict, "replaced", "member \(member) of \(slot) was lost and its slot relaunched; it must stop")
    }
}

/// Turns every error into JSON: Hummingbird's own (413, 404, 405) keep their status; anything unexpected is a 500
/// that names no internals.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as ControlPlaneError {
            throw error.apiError
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, "too_large", "request body is larger than the \(context.maxUploadSize / (1024 * 1024)) MiB limit")
        } catch let error as HTTPError {
            let code = error.status == .contentTooLarge ? "too_large" : error.status == .notFound ? "not_found" : "http_error"
            let message = error.status == .contentTooLarge ? "request body is larger than the limit" : (error.body ?? error.status.reasonPhrase)
            throw APIError(error.status, code, message)
        } catch {
            context.logger.error("internal error on \(request.method) \(request.uri.path): \(error)")
            throw APIError(.internalServerError, "internal", "internal error")
        }
    }
}
