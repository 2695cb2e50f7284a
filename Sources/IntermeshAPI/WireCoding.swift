import Foundation

/// How `/v1` bodies are written and read: JSON with ISO 8601 times and sorted keys (stable for scripts and tests).
public enum WireCoding {
    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = Timestamps.encoding
        return encoder
    }()

    public static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = Timestamps.decoding
        return decoder
    }()
}

/// A failure as the API reports it: `{"error": {"code", "message", "details"}}` with a 4xx or 5xx status.
public struct ErrorBody: Codable, Sendable, Equatable {
    public struct Failure: Codable, Sendable, Equatable {
        /// Stable, for scripts: `not_found`, `conflict`, `invalid_spec`, ...
        public var code: String
        public var message: String
        public var details: [String]?
        /// On a standby's 503 (code `standby`): where the active server is, for clients to follow.
        public var active: String?

        public init(code: String, message: String, details: [String]? = nil, active: String? = nil) {
            self.code = code
            self.message = message
            self.details = details
            self.active = active
        }
    }

    public var error: Failure

    public init(code: String, message: String, details: [String] = [], active: String? = nil) {
        error = Failure(code: code, message: message, details: details.isEmpty ? nil : details, active: active)
    }
}
