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

    /// The canonical form as YAML, for `validate --canonical`.
    public func canonicalYAML() -> String {
        let encoder = YAMLEncoder()
        encoder.options.sortKeys = true
        return (try? encoder.encode(self)) ?? ""
    }

    /// `sha256:<hex>` of the compact canonical JSON: the identity of a revision's content.
    public var contentHash: String {
        "sha256:" + SHA256.hash(data: canonicalJSON(pretty: false)).map { String(format: "%02x", $0) }.joined()
    }
}
