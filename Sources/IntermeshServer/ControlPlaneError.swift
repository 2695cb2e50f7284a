import Foundation
import IntermeshAPI

/// What the control plane refuses, in its own terms; the HTTP edge (`ErrorMiddleware`) maps each to a status.
public struct ControlPlaneError: Error, Sendable, Equatable, CustomStringConvertible {
    enum Code: Sendable, Equatable {
        case notFound
        case invalidSpec
        case immutableField
        case conflict
        /// Bounded work is at its bound: try again.
        case busy
    }

    let code: Code
    public let message: String
    public let details: [String]

    public var description: String { ([message] + details).joined(separator: "\n  ") }

    static func notFound(_ message: String) -> ControlPlaneError { ControlPlaneError(code: .notFound, message: message, details: []) }

    static func invalidSpec(_ message: String, details: [String]) -> ControlPlaneError {
        ControlPlaneError(code: .invalidSpec, message: message, details: details)
    }

    static func immutableField(_ message: String, details: [String]) -> ControlPlaneError {
        ControlPlaneError(code: .immutableField, message: message, details: details)
    }

    static func conflict(_ message: String, current: Int) -> ControlPlaneError {
        ControlPlaneError(code: .conflict, message: message, details: ["current revision: \(current)"])
    }

    static func busy(_ message: String) -> ControlPlaneError { ControlPlaneError(code: .busy, message: message, details: []) }

    /// As the API answers it.
    var apiError: APIError {
        switch code {
        case .notFound: return APIError(.notFound, "not_found", message, details: details)
        case .invalidSpec: return APIError(.unprocessableContent, "invalid_spec", message, details: details)
        case .immutableField: return APIError(.unprocessableContent, "immutable_field", message, details: details)
        case .conflict: return APIError(.conflict, "conflict", message, details: details)
        case .busy:
            var error = APIError(.serviceUnavailable, "busy", message, details: details)
            error.headers[.retryAfter] = "1"
            return error
        }
    }
}
