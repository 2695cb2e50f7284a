import Crypto
import Foundation
import Yams

extension TrainingRun {
    /// The canonical form: every default filled in, keys sorted, as JSON. Equal specs give equal bytes.
    public func canonicalJSON(pretty: Bool = true) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain value types with string keys cannot fail.
        return (try? encoder.encode(self)) ?? Data()
    }

    /// The canonical form as YAML, for `validate --canonical`: it loads again to the same run.
    public func canonicalYAML() -> String {
        let encoder = YAMLEncoder()
        encoder.options.sortKeys = true
        guard let yaml = try? encoder.encode(self), let node = try? Yams.compose(yaml: yaml),
              let json = try? JSONDecoder().decode(JSONShape.self, from: canonicalJSON(pretty: false)) else { return "" }
        return (try? Yams.serialize(node: Self.exactFloats(node, json), sortKeys: true)) ?? yaml
    }

    /// Yams writes floats with 15 significant digits, in exponent form (`8.83333333333333e-1`): that loses the last
    /// digits of a normalised weight and reads badly. Each float is written again from the canonical JSON, which
    /// has the same shape, in Swift's shortest form that reads back to the same number (`0.8833333333333333`, `1.0`).
    static func exactFloats(_ node: Node, _ json: JSONShape) -> Node {
        switch (node, json) {
        case let (.scalar(scalar), .number(number)) where node.tag == Tag(.float):
            return .scalar(.init("\(number)", scalar.tag, scalar.style, scalar.mark))
        case let (.mapping(mapping), .object(object)):
            let pairs = mapping.map { pair in
                (pair.key, pair.key.string.flatMap { object[$0] }.map { exactFloats(pair.value, $0) } ?? pair.value)
            }
            return .mapping(.init(pairs, mapping.tag, mapping.style, mapping.mark))
        case let (.sequence(sequence), .array(array)) where array.count == sequence.count:
            return .sequence(.init(zip(sequence, array).map { exactFloats($0, $1) }, sequence.tag, sequence.style, sequence.mark))
        default:
            return node
        }
    }

    /// `sha256:<hex>` of the compact canonical JSON: the identity of a revision's content.
    public var contentHash: String {
        "sha256:" + SHA256.hash(data: canonicalJSON(pretty: false)).map { String(format: "%02x", $0) }.joined()
    }
}

/// The canonical JSON read back with only what `exactFloats` needs: numbers exactly as JSONDecoder reads them.
enum JSONShape: Decodable {
    case object([String: JSONShape])
    case array([JSONShape])
    case number(Double)
    case other

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let object = try? container.decode([String: JSONShape].self) {
            self = .object(object)
        } else if let array = try? container.decode([JSONShape].self) {
            self = .array(array)
        } else if let number = try? container.decode(Double.self), (try? container.decode(Bool.self)) == nil {
            self = .number(number)
        } else {
            self = .other
        }
    }
}
