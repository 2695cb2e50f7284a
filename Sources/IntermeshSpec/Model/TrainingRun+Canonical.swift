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
        let yaml = (try? encoder.encode(self)) ?? ""
        return yaml.split(separator: "\n", omittingEmptySubsequences: false).map(Self.plainFloat).joined(separator: "\n")
    }

    /// Yams writes every float in exponent form (`1e+0`, `7e-1`); people write `1.0` and `0.7`.
    /// A plain scalar in that form can only be a float: a string that looks like one is quoted.
    static func plainFloat(_ line: Substring) -> String {
        guard let colon = line.range(of: ": ", options: .backwards) else { return String(line) }
        let value = line[colon.upperBound...]
        guard value.contains("e"), value.allSatisfy({ $0.isNumber || "e+-.".contains($0) }),
              let number = Double(value) else { return String(line) }
        return line[..<colon.upperBound] + "\(number)"
    }

    /// `sha256:<hex>` of the compact canonical JSON: the identity of a revision's content.
    public var contentHash: String {
        "sha256:" + SHA256.hash(data: canonicalJSON(pretty: false)).map { String(format: "%02x", $0) }.joined()
    }
}
