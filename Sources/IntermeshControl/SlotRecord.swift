import Foundation

/// Launch history of one replica slot, for its restart budget.
public struct SlotRecord: Codable, Sendable, Hashable {
    public var launches: [Date]
    public var quarantined: Bool
    /// The member id of the last recorded launch: a registration of that member is not a second launch.
    public var lastMember: String?

    public init(launches: [Date] = [], quarantined: Bool = false, lastMember: String? = nil) {
        self.launches = launches
        self.quarantined = quarantined
        self.lastMember = lastMember
    }

    /// Records a launch of `member` at `now`, once per member; keeps the last 64.
    public mutating func recordLaunch(of member: String, at now: Date) {
        guard member != lastMember else { return }
        launches = Array((launches + [now]).suffix(64))
        lastMember = member
    }
}
