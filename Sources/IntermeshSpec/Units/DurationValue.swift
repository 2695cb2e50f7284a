/// A span of time as people write it in specs: `500ms`, `30s`, `5m`, `1h30m`, `2d`.
///
/// Stored in milliseconds; printed in the shortest exact form, so `90s` prints as `1m30s`.
public struct DurationValue: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var milliseconds: Int64

    public init(milliseconds: Int64) {
        self.milliseconds = milliseconds
    }

    public static func seconds(_ value: Double) -> DurationValue {
        DurationValue(milliseconds: Int64((value * 1000).rounded()))
    }

    public var seconds: Double { Double(milliseconds) / 1000 }

    public var swiftDuration: Duration { .milliseconds(milliseconds) }

    static let units: [(suffix: String, ms: Int64)] = [
        ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1),
    ]

    /// Parses `1h30m`, `2.5s`, `250ms`; nil when the text is not a duration.
    public init?(parsing text: String) {
        var rest = Substring(text.trimmingWhitespace())
        guard !rest.isEmpty else { return nil }
        var total = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { $0.isLetter }
            guard let factor = Self.units.first(where: { $0.suffix == unit })?.ms else { return nil }
            rest = rest.dropFirst(unit.count)
            total += value * Double(factor)
        }
        guard total.isFinite, total < 1e15 else { return nil }
        self.milliseconds = Int64(total.rounded())
    }

    public var description: String {
        if milliseconds == 0 { return "0s" }
        var rest = milliseconds
        var out = ""
        for (suffix, ms) in Self.units where rest >= ms {
            out += "\(rest / ms)\(suffix)"
            rest %= ms
        }
        return out
    }

    public static func < (lhs: DurationValue, rhs: DurationValue) -> Bool { lhs.milliseconds < rhs.milliseconds }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = DurationValue(parsing: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a duration: \(text)"))
        }
        self = value
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension String {
    func trimmingWhitespace() -> String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
