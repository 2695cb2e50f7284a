/// A position in a source file: 1-based line and column (columns count Unicode scalars, as libyaml does).
public struct SourceLocation: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public static let start = SourceLocation(line: 1, column: 1)

    public static func < (lhs: SourceLocation, rhs: SourceLocation) -> Bool {
        (lhs.line, lhs.column) < (rhs.line, rhs.column)
    }

    public var description: String { "\(line):\(column)" }
}

extension SourceLocation {
    /// The location recorded for `path`, or for its nearest enclosing path (a defaulted value points at its parent).
    public static func nearest(to path: String, in locations: [String: SourceLocation]) -> SourceLocation? {
        var current = Substring(path)
        while true {
            if let location = locations[String(current)] { return location }
            guard let cut = current.lastIndex(where: { $0 == "." || $0 == "[" }) else { return nil }
            current = current[..<cut]
        }
    }
}
