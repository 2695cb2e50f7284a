/// The model's architecture. Immutable within a run; the parameter count is derived from it.
public struct ModelSpec: SpecObject, Hashable, Codable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// Decoder-only transformer (Llama-style with `swiglu`, GPT-style with `gelu`).
        case transformer
        /// A multilayer perceptron over a window of byte embeddings (the reference engine's small model).
        case mlp
    }

    public enum Activation: String, Codable, Sendable, CaseIterable {
        case gelu
        case swiglu
    }

    public var kind: Kind
    public var layers: Int
    public var hiddenSize: Int
    public var heads: Int
    public var kvHeads: Int
    public var ffnHiddenSize: Int
    public var activation: Activation
    public var embeddingSize: Int
    public var vocabSize: Int
    public var sequenceLength: Int
    public var tiedEmbeddings: Bool

    public static let schema = ObjectSchema("model", doc: "Model architecture (immutable within a run).", fields: [
        FieldSchema("kind", .enumeration(Kind.allCases.map(\.rawValue)), default: .string("transformer"),
                    doc: "`transformer` or `mlp` (a context-window MLP, for the reference engine)."),
        FieldSchema("layers", .integer(min: 1, max: 1000), required: true, doc: "Transformer blocks, or hidden layers of the MLP."),
        FieldSchema("hiddenSize", .integer(min: 1, max: 1_000_000), required: true, doc: "Model width."),
        FieldSchema("heads", .integer(min: 1, max: 4096), default: .derived("1 (mlp); required for transformer"),
                    doc: "Attention heads; must divide hiddenSize."),
        FieldSchema("kvHeads", .integer(min: 1, max: 4096), default: .derived("heads"), doc: "Key/value heads (grouped-query attention); must divide heads."),
        FieldSchema("ffnHiddenSize", .integer(min: 1, max: 10_000_000), default: .derived("4 x hiddenSize"), doc: "Width of the feed-forward block."),
        FieldSchema("activation", .enumeration(Activation.allCases.map(\.rawValue)), default: .string("gelu"),
                    doc: "Feed-forward activation: `gelu` (2 matrices) or `swiglu` (3 matrices)."),
        FieldSchema("embeddingSize", .integer(min: 1, max: 1_000_000), default: .derived("hiddenSize"),
                    doc: "Per-token embedding width of the mlp model."),
        FieldSchema("vocabSize", .integer(min: 2, max: 10_000_000), required: true, doc: "Vocabulary size (256 for byte-level models)."),
        FieldSchema("sequenceLength", .integer(min: 1, max: 10_000_000), required: true, doc: "Tokens per sequence (the context window of the mlp)."),
        FieldSchema("tiedEmbeddings", .boolean, default: .bool(false), doc: "Whether the output head shares the embedding matrix."),
    ])

    public init(from reader: ObjectReader) {
        kind = reader.enumeration("kind") ?? .transformer
        layers = reader.int("layers") ?? 1
        hiddenSize = reader.int("hiddenSize") ?? 1
        if kind == .transformer, !reader.has("heads") {
            reader.context.error("missing required key 'heads' in model (a transformer needs attention heads)",
                                 at: reader.location, path: reader.fieldPath("heads"))
        }
        heads = reader.int("heads") ?? 1
        kvHeads = reader.int("kvHeads") ?? heads
        ffnHiddenSize = reader.int("ffnHiddenSize") ?? 4 * hiddenSize
        activation = reader.enumeration("activation") ?? .gelu
        embeddingSize = reader.int("embeddingSize") ?? hiddenSize
        vocabSize = reader.int("vocabSize") ?? 256
        sequenceLength = reader.int("sequenceLength") ?? 1
        tiedEmbeddings = reader.bool("tiedEmbeddings") ?? false
    }

    /// Trainable parameters, counted from the architecture.
    public var parameterCount: Int {
        switch kind {
        case .transformer:
            let headDim = hiddenSize / max(heads, 1)
            let attention = 2 * hiddenSize * hiddenSize + 2 * hiddenSize * (kvHeads * headDim)
            let ffn = (activation == .swiglu ? 3 : 2) * hiddenSize * ffnHiddenSize
            let norms = 2 * hiddenSize
            let embeddings = vocabSize * hiddenSize * (tiedEmbeddings ? 1 : 2)
            return layers * (attention + ffn + norms) + hiddenSize + embeddings
        case .mlp:
            let input = sequenceLength * embeddingSize
            var count = vocabSize * embeddingSize + input * hiddenSize + hiddenSize
            count += (layers - 1) * (hiddenSize * hiddenSize + hiddenSize)
            count += tiedEmbeddings ? vocabSize : hiddenSize * vocabSize + vocabSize
            return count
        }
    }
}
