import Foundation

/// Launch history of one replica slot, for its restart budget.
public struct SlotRecord: Codable, Sendable, Hashable {
    public var launches: [Date]
    public var quarantined: Bool
    /// The member id of the last recorded launch: a registration of that member is not a second launch.
    public var lastMember: String?
    /// The member of this slot last lost (silent past the timeout and any disconnect grace), until the slot is
    /// launched again: its agent stops it if it still runs, and it is refused if it comes back.
    public var lostMember: String?

    public init(launches: [Date] = [], quarantined: Bool = false, lastMember: String? = nil, lostMember: String? = nil) {
        self.launches = launches
        self.quarantined = quarantined
        self.lastMember = lastMember
        self.lostMember = lostMember
    }

    /// Records a launch of `member` at `now`, once per member; keeps the last 64.
    public mutating func recordLaunch(of member: String, at now: Date) {
        guard member != lastMember else { return }
        launches = Array((launches + [now]).suffix(64))
        lastMember = member
        lostMember = nil
    }
}
