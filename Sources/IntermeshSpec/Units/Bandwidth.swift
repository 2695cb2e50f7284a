/// A link's bandwidth as people write it: `500Mbps`, `4Gbps`, `1.5Gbps`, `100Mb/s`.
///
/// Decimal units (1 Gbps = 10^9 bit/s), as network links are sold.
public struct Bandwidth: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var bitsPerSecond: Double

    public init(bitsPerSecond: Double) {
        self.bitsPerSecond = bitsPerSecond
    }

    public var bytesPerSecond: Double { bitsPerSecond / 8 }

    static let units: [(suffix: String, factor: Double)] = [
        ("tbps", 1e12), ("gbps", 1e9), ("mbps", 1e6), ("kbps", 1e3), ("bps", 1),
    ]

    public init?(parsing text: String) {
        var normalized = text.trimmingWhitespace().lowercased().replacingOccurrences(of: "b/s", with: "bps")
        normalized.removeAll { $0 == " " }
        for (suffix, factor) in Self.units where normalized.hasSuffix(suffix) {
            guard let value = Double(normalized.dropLast(suffix.count)), value.isFinite, value > 0 else { return nil }
            bitsPerSecond = value * factor
            return
        }
        return nil
    }

    public var description: String {
        for (suffix, factor) in Self.units where bitsPerSecond >= factor {
            let value = bitsPerSecond / factor
            let name = suffix.prefix(1).uppercased() + suffix.dropFirst()
            return "\(formatCompact(value))\(suffix == "bps" ? "bps" : name)"
        }
        return "\(formatCompact(bitsPerSecond))bps"
    }

    public static func < (lhs: Bandwidth, rhs: Bandwidth) -> Bool { lhs.bitsPerSecond < rhs.bitsPerSecond }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = Bandwidth(parsing: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a bandwidth: \(text)"))
        }
        self = value
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

private extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

/// Up to three decimals, trailing zeros dropped: 1.5, 4, 0.125.
func formatCompact(_ value: Double) -> String {
    let rounded = (value * 1000).rounded() / 1000
    if rounded == rounded.rounded(), abs(rounded) < 1e15 { return String(Int64(rounded)) }
    var text = String(rounded)
    while text.hasSuffix("0") { text.removeLast() }
    return text
}
