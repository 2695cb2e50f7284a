/// A composed YAML node that remembers where it came from.
///
/// Scalars keep their text and style; the reader, not the composer, decides what a scalar means,
/// so `no` stays a string where a string is expected and `"3"` is not an integer.
public struct YAMLNode: Sendable {
    public enum Style: Sendable, Equatable {
        case plain
        case quoted
        case block
    }

    public indirect enum Value: Sendable {
        case scalar(text: String, style: Style, tag: String?)
        case mapping([(key: YAMLNode, value: YAMLNode)])
        case sequence([YAMLNode])
    }

    public var value: Value
    public var location: SourceLocation
    /// Nodes in this subtree, aliases counted as often as they are used: what a naive walk would visit.
    public var expandedSize: Int

    public init(_ value: Value, at location: SourceLocation, expandedSize: Int = 1) {
        self.value = value
        self.location = location
        self.expandedSize = expandedSize
    }

    /// A plain scalar that YAML 1.2 reads as null: empty, `~` or `null`.
    public var isNull: Bool {
        if case let .scalar(text, style, tag) = value, style == .plain, tag == nil {
            return text.isEmpty || text == "~" || text == "null" || text == "Null" || text == "NULL"
        }
        return false
    }

    /// The text of a scalar, nil for collections.
    public var scalarText: String? {
        if case let .scalar(text, _, _) = value { return text }
        return nil
    }

    /// What a user would call this node's type, for error messages.
    public var kindDescription: String {
        switch value {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case let .scalar(text, style, _):
            if isNull { return "null" }
            if style != .plain { return "a string" }
            if Int(text) != nil { return "an integer" }
            if Double(text) != nil { return "a number" }
            if ["true", "false", "True", "False", "TRUE", "FALSE"].contains(text) { return "a boolean" }
            return "a string"
        }
    }
}
