import Foundation

/// A site's link to the others: the bandwidth the spec declares, and the slowest of its live members' links toward
/// the next member of their last ring as the kernel measured it. Below `slowFraction` of the declared bandwidth the
/// link is slow: `describe` and the console say so, naming the member and where it sends.
public struct SiteLink: Codable, Sendable, Equatable {
    /// Slow below this share of the declared bandwidth.
    public static let slowFraction = 0.5

    public var declaredMbps: Double
    /// The slowest measured member link; nil before a member reported one, and on links fast enough that a member's
    /// whole outer sync takes under 10 ms (the kernel times a connection in milliseconds).
    public var measuredMbps: Double?
    /// The slot that measured it, and the slot it sends to.
    public var from: String?
    public var to: String?
    public var slow: Bool

    public init(declaredMbps: Double, measuredMbps: Double? = nil, from: String? = nil, to: String? = nil) {
        self.declaredMbps = declaredMbps
        self.measuredMbps = measuredMbps
        self.from = from
        self.to = to
        slow = measuredMbps.map { $0 < declaredMbps * Self.slowFraction } ?? false
    }

    /// The site's link from its live members' last measurements.
    public static func measure(declaredMbps: Double, members: [MemberRecord]) -> SiteLink {
        let slowest = members.filter { $0.uplinkMbps != nil }.min { ($0.uplinkMbps!, $0.slot) < ($1.uplinkMbps!, $1.slot) }
        return SiteLink(declaredMbps: declaredMbps, measuredMbps: slowest?.uplinkMbps, from: slowest?.slot, to: slowest?.uplinkTo)
    }

    /// `100 Mbit/s declared, 3.9 measured (gamma/0 -> alpha/0): slow`.
    public var summary: String {
        let declared = "\(Self.format(declaredMbps)) Mbit/s declared"
        guard let measuredMbps else { return declared + ", not measured (no sync long enough to time)" }
        let path = from.map { " (\($0) -> \(to ?? "?"))" } ?? ""
        return "\(declared), \(Self.format(measuredMbps)) measured\(path)" + (slow ? ": slow" : "")
    }

    static func format(_ mbps: Double) -> String {
        mbps >= 100 ? String(Int(mbps.rounded())) : String(format: "%.1f", mbps)
    }
}
