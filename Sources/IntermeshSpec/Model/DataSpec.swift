/// The data the run trains on: named sources and their mix weights.
public struct DataSpec: SpecObject, Hashable, Codable {
    public var mix: [DataSource]
    /// Fraction of each source held out for per-source evaluation.
    public var evalFraction: Double

    public static let schema = ObjectSchema("data", doc: "Training data.", fields: [
        FieldSchema("mix", .list(.object(DataSource.schema), minItems: 1), required: true,
                    doc: "Sources with weights; weights are normalised to sum to 1 (with a warning when they don't)."),
        FieldSchema("evalFraction", .number(min: 0, max: 0.5, exclusiveMinimum: true), default: .number(0.02),
                    doc: "Fraction of each source held out to measure per-source evaluation loss."),
    ])

    public init(from reader: ObjectReader) {
        mix = reader.list("mix")
        evalFraction = reader.double("evalFraction") ?? 0.02
    }
}

/// One data source of the mix.
public struct DataSource: SpecObject, Hashable, Codable {
    public enum Format: String, Codable, Sendable, CaseIterable {
        case text
        case jsonl
    }

    public var name: String
    public var path: String
    public var format: Format
    /// JSONL field that holds the text.
    public var field: String
    public var weight: Double

    public static let schema = ObjectSchema("data source", doc: "A text or JSONL data source.", fields: [
        FieldSchema("name", .string(.dnsLabel), required: true, doc: "The source's name; per-source losses are reported under it."),
        FieldSchema("path", .string(.path), required: true,
                    doc: "File or dataset path, relative to the engine's working directory or absolute."),
        FieldSchema("format", .enumeration(Format.allCases.map(\.rawValue)), default: .derived("`jsonl` for *.jsonl, else `text`"),
                    doc: "`text` (raw bytes) or `jsonl` (one JSON object per line)."),
        FieldSchema("field", .string(.word), default: .string("text"), doc: "JSONL key holding the document text."),
        FieldSchema("weight", .number(min: 0, max: 1e9, exclusiveMinimum: true), required: true,
                    doc: "Sampling weight, relative to the others."),
    ])

    public init(from reader: ObjectReader) {
        name = reader.string("name") ?? ""
        path = reader.string("path") ?? ""
        format = reader.enumeration("format") ?? (path.hasSuffix(".jsonl") ? .jsonl : .text)
        field = reader.string("field") ?? "text"
        weight = reader.double("weight") ?? 1
    }
}
