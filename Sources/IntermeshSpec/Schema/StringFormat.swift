/// What a string field may contain. Names reach shells, paths and URLs, so most formats are narrow.
public enum StringFormat: String, Sendable, CaseIterable {
    /// Free text for humans; no control characters except tab.
    case text
    /// RFC 1123 label: lower-case letters, digits and '-', 1 to 63 characters, starting and ending alphanumeric.
    case dnsLabel
    /// A host name or IPv4 address: DNS labels separated by dots, at most 253 characters.
    case hostname
    /// A file system path: printable, no control characters or newlines.
    case path
    /// An environment variable name: letters, digits and '_', not starting with a digit.
    case envName
    /// A scheduler word (Slurm partition, account, user name): letters, digits, '_', '.', '-'.
    case word
    /// A label key such as `team` or `example.com/owner`.
    case labelKey

    /// Why `value` does not fit, or nil when it does.
    public func problem(with value: String) -> String? {
        switch self {
        case .text:
            return value.unicodeScalars.contains { $0.properties.generalCategory == .control && $0 != "\t" }
                ? "must not contain control characters or newlines" : nil
        case .path:
            if value.isEmpty { return "must not be empty" }
            return value.unicodeScalars.contains { $0.properties.generalCategory == .control }
                ? "must not contain control characters or newlines" : nil
        case .dnsLabel:
            return Self.dnsLabelProblem(value)
        case .hostname:
            if value.isEmpty || value.count > 253 { return "must be a host name of 1 to 253 characters" }
            for label in value.split(separator: ".", omittingEmptySubsequences: false) {
                let text = String(label).lowercased()
                if Self.dnsLabelProblem(text) != nil {
                    return "must be a host name (letters, digits, '-' and '.'), got '\(value)'"
                }
            }
            return nil
        case .envName:
            guard let first = value.unicodeScalars.first else { return "must not be empty" }
            let ok = value.unicodeScalars.allSatisfy { $0.isASCIIAlphanumeric || $0 == "_" }
                && !("0"..."9").contains(first)
            return ok ? nil : "must be an environment variable name (letters, digits and '_', not starting with a digit)"
        case .word:
            let ok = !value.isEmpty && value.count <= 128
                && value.unicodeScalars.allSatisfy { $0.isASCIIAlphanumeric || "_.-".unicodeScalars.contains($0) }
            return ok ? nil : "may contain only letters, digits, '_', '.' and '-'"
        case .labelKey:
            let ok = !value.isEmpty && value.count <= 253
                && value.unicodeScalars.allSatisfy { $0.isASCIIAlphanumeric || "_.-/".unicodeScalars.contains($0) }
            return ok ? nil : "must be a label key (letters, digits, '_', '.', '-' and '/')"
        }
    }

    static func dnsLabelProblem(_ value: String) -> String? {
        let scalars = Array(value.unicodeScalars)
        let ok = !scalars.isEmpty && scalars.count <= 63
            && scalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
            && scalars.first != "-" && scalars.last != "-"
        return ok ? nil : "must be a DNS label (lower-case letters, digits and '-', 1 to 63 characters, "
            + "starting and ending with a letter or digit), got '\(value.debugEscaped)'"
    }

    /// A JSON Schema `pattern` for this format, where one expresses it.
    public var jsonPattern: String? {
        switch self {
        case .dnsLabel: return "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
        case .hostname: return "^[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*$"
        case .envName: return "^[A-Za-z_][A-Za-z0-9_]*$"
        case .word: return "^[A-Za-z0-9_.-]+$"
        case .labelKey: return "^[A-Za-z0-9_./-]+$"
        case .path: return "^[^\\u0000-\\u001f\\u007f]+$"
        case .text: return "^[^\\u0000-\\u0008\\u000a-\\u001f\\u007f]*$"
        }
    }
}

extension Unicode.Scalar {
    var isASCIIAlphanumeric: Bool {
        ("a"..."z").contains(self) || ("A"..."Z").contains(self) || ("0"..."9").contains(self)
    }
}

extension String {
    /// The string with control characters shown as escapes, safe to print in one line.
    var debugEscaped: String {
        var out = ""
        for scalar in unicodeScalars {
            if scalar.properties.generalCategory == .control {
                out += scalar == "\n" ? "\\n" : scalar == "\t" ? "\\t" : "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
