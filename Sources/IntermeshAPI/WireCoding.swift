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

        public init(code: String, message: String, details: [String]? = nil) {
            self.code = code
            self.message = message
            self.details = details
        }
    }

    public var error: Failure

    public init(code: String, message: String, details: [String] = []) {
        error = Failure(code: code, message: message, details: details.isEmpty ? nil : details)
    }
}
