import Foundation
import IntermeshAPI
import Testing

/// A site's link: the slowest live member's measured uplink against the declared bandwidth; slow below half of it.
@Suite struct SiteLinkTests {
    static func member(_ slot: String, _ mbps: Double?, to: String = "alpha/0") -> MemberRecord {
        var record = MemberRecord(id: "m-\(slot)", site: String(slot.prefix { $0 != "/" }), slot: slot, lastHeartbeat: Date())
        record.uplinkMbps = mbps
        record.uplinkTo = mbps == nil ? nil : to
        return record
    }

    @Test(arguments: [
        ([Double?](), nil as Double?, false, "100 Mbit/s declared, not measured (no sync long enough to time)"),
        ([nil], nil, false, "100 Mbit/s declared, not measured (no sync long enough to time)"),
        ([900, 240], 240, false, "100 Mbit/s declared, 240 measured (gamma/1 -> alpha/0)"),
        ([900, 3.9], 3.9, true, "100 Mbit/s declared, 3.9 measured (gamma/1 -> alpha/0): slow"),
        ([50], 50, false, "100 Mbit/s declared, 50.0 measured (gamma/0 -> alpha/0)"),
        ([49.9], 49.9, true, "100 Mbit/s declared, 49.9 measured (gamma/0 -> alpha/0): slow"),
    ])
    func measure(_ rates: [Double?], slowest: Double?, slow: Bool, summary: String) {
        let members = rates.enumerated().map { Self.member("gamma/\($0.offset)", $0.element) }
        let link = SiteLink.measure(declaredMbps: 100, members: members)
        #expect(link.measuredMbps == slowest)
        #expect(link.slow == slow)
        #expect(link.summary == summary)
    }

    @Test func aReportedRateOutOfRangeIsRefused() {
        #expect(MemberBeat(id: "m", slot: "a/0", state: .training, uplinkMbps: -1).rangeError != nil)
        #expect(MemberBeat(id: "m", slot: "a/0", state: .training, uplinkMbps: .nan).rangeError != nil)
        #expect(MemberBeat(id: "m", slot: "a/0", state: .training, uplinkMbps: 12.5, uplinkTo: "b/0").rangeError == nil)
    }
}
