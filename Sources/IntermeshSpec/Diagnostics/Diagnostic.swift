/// One problem found in a spec: where it is, how bad it is and what to do about it.
///
/// Diagnostics are collected, never thrown, so a user sees every problem of a file at once.
public struct Diagnostic: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Severity: String, Sendable, Codable, Comparable {
        case warning
        case error

        public static func < (lhs: Severity, rhs: Severity) -> Bool {
            lhs == .warning && rhs == .error
        }
    }

    public var severity: Severity
    public var message: String
    /// Where the problem is; nil when it concerns the file as a whole (I/O, size).
    public var location: SourceLocation?
    /// The spec path of the offending value, such as `spec.sites[1].replicas`; empty for file-level problems.
    public var path: String

    public init(_ severity: Severity, _ message: String, at location: SourceLocation?, path: String = "") {
        self.severity = severity
        self.message = message
        self.location = location
        self.path = path
    }

    public static func error(_ message: String, at location: SourceLocation?, path: String = "") -> Diagnostic {
        Diagnostic(.error, message, at: location, path: path)
    }

    public static func warning(_ message: String, at location: SourceLocation?, path: String = "") -> Diagnostic {
        Diagnostic(.warning, message, at: location, path: path)
    }

    public var isError: Bool { severity == .error }

    /// `LINE:COL: severity: message`, the compiler form without the file name.
    public var description: String {
        let place = location.map { "\($0.line):\($0.column): " } ?? ""
        return "\(place)\(severity.rawValue): \(message)"
    }
}

extension Array where Element == Diagnostic {
    public var hasErrors: Bool { contains(where: \.isError) }

    /// Sorted by position (file-level problems first), errors before warnings at the same place.
    public func sortedByLocation() -> [Diagnostic] {
        enumerated().sorted { a, b in
            let la = a.element.location ?? SourceLocation(line: 0, column: 0)
            let lb = b.element.location ?? SourceLocation(line: 0, column: 0)
            if la != lb { return la < lb }
            if a.element.severity != b.element.severity { return a.element.severity > b.element.severity }
            return a.offset < b.offset
        }.map(\.element)
    }
}
