/// The declared type of a spec field; drives the reader's checks, the JSON Schema and the reference docs.
public indirect enum FieldType: Sendable {
    case string(StringFormat)
    case integer(min: Int, max: Int)
    case number(min: Double, max: Double, exclusiveMinimum: Bool)
    case boolean
    case duration
    case bandwidth
    case quantity
    case enumeration([String])
    case object(ObjectSchema)
    case list(FieldType, minItems: Int)
    case map(key: StringFormat, value: FieldType)
}

/// A field's default, shown in docs and the schema and returned by the reader when the key is absent.
public enum DefaultValue: Sendable, CustomStringConvertible {
    case int(Int)
    case number(Double)
    case bool(Bool)
    case string(String)
    /// Computed from other fields; `text` says how, for the docs.
    case derived(String)

    public var description: String {
        switch self {
        case let .int(value): return String(value)
        case let .number(value): return formatCompact(value)
        case let .bool(value): return String(value)
        case let .string(value): return value
        case let .derived(text): return text
        }
    }
}

/// One key of a spec object.
public struct FieldSchema: Sendable {
    public var name: String
    public var type: FieldType
    public var required: Bool
    public var defaultValue: DefaultValue?
    public var doc: String

    public init(_ name: String, _ type: FieldType, required: Bool = false, default defaultValue: DefaultValue? = nil, doc: String) {
        self.name = name
        self.type = type
        self.required = required
        self.defaultValue = defaultValue
        self.doc = doc
    }
}

/// The keys an object of the spec may have. One declaration per object serves validation, schema and docs.
public final class ObjectSchema: Sendable {
    /// A noun for messages: "site", "launcher".
    public let name: String
    public let doc: String
    public let fields: [FieldSchema]
    private let index: [String: Int]

    public init(_ name: String, doc: String, fields: [FieldSchema]) {
        self.name = name
        self.doc = doc
        self.fields = fields
        self.index = Dictionary(uniqueKeysWithValues: fields.enumerated().map { ($1.name, $0) })
    }

    public func field(_ name: String) -> FieldSchema? {
        index[name].map { fields[$0] }
    }

    public var fieldNames: [String] { fields.map(\.name) }
}

/// A spec object decoded from YAML through its schema.
public protocol SpecObject: Sendable {
    static var schema: ObjectSchema { get }
    init(from reader: ObjectReader)
}
