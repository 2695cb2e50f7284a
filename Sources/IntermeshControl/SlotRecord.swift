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
    /// Members of this slot lost and replaced by a launch, oldest first (the last 16): one that comes back is refused,
    /// after a restart or failover of the control plane too.
    public var replaced: [String]

    public init(launches: [Date] = [], quarantined: Bool = false, lastMember: String? = nil, lostMember: String? = nil, replaced: [String] = []) {
        self.launches = launches
        self.quarantined = quarantined
        self.lastMember = lastMember
        self.lostMember = lostMember
        self.replaced = replaced
    }

    enum CodingKeys: String, CodingKey {
        case launches, quarantined, lastMember, lostMember, replaced
    }

    /// Records written before `replaced` existed read as having replaced none.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        launches = try container.decode([Date].self, forKey: .launches)
        quarantined = try container.decode(Bool.self, forKey: .quarantined)
        lastMember = try container.decodeIfPresent(String.self, forKey: .lastMember)
        lostMember = try container.decodeIfPresent(String.self, forKey: .lostMember)
        replaced = try container.decodeIfPresent([String].self, forKey: .replaced) ?? []
    }

    /// The slot is launched again to replace `member`, which was lost.
    public mutating func recordReplacing(_ member: String) {
        lostMember = member
        if !replaced.contains(member) { replaced = Array((replaced + [member]).suffix(16)) }
    }

    /// Records a launch of `member` at `now`, once per member; keeps the last 64.
    public mutating func recordLaunch(of member: String, at now: Date) {
        guard member != lastMember else { return }
        launches = Array((launches + [now]).suffix(64))
        lastMember = member
        lostMember = nil
    }
}
