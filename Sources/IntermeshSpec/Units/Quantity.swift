/// A large count as people write it: `1T` tokens, `10B` parameters, `250M`, `64K`, or a plain number.
///
/// Decimal suffixes: K = 10^3, M = 10^6, B or G = 10^9, T = 10^12, P = 10^15.
public struct Quantity: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var value: UInt64

    public init(_ value: UInt64) {
        self.value = value
    }

    static let suffixes: [(suffix: Character, factor: UInt64)] = [
        ("P", 1_000_000_000_000_000), ("T", 1_000_000_000_000), ("B", 1_000_000_000), ("G", 1_000_000_000),
        ("M", 1_000_000), ("K", 1000),
    ]

    public init?(parsing text: String) {
        let trimmed = text.trimmingWhitespace().replacingUnderscores()
        guard let last = trimmed.last else { return nil }
        if let plain = UInt64(trimmed) {
            value = plain
            return
        }
        guard let factor = Self.suffixes.first(where: { $0.suffix == Character(last.uppercased()) })?.factor,
              let number = Double(trimmed.dropLast()), number.isFinite, number >= 0 else { return nil }
        let total = number * Double(factor)
        guard total < 1.8e19 else { return nil }
        value = UInt64(total.rounded())
    }

    public var description: String {
        for (suffix, factor) in Self.suffixes where suffix != "G" && value >= factor && value % (factor / 100) == 0 {
            return "\(formatCompact(Double(value) / Double(factor)))\(suffix)"
        }
        return String(value)
    }

    public static func < (lhs: Quantity, rhs: Quantity) -> Bool { lhs.value < rhs.value }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(UInt64.self) {
            value = number
            return
        }
        let text = try container.decode(String.self)
        guard let parsed = Quantity(parsing: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a count: \(text)"))
        }
        self = parsed
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

private extension String {
    func replacingUnderscores() -> String { String(filter { $0 != "_" }) }
}
