import Foundation
import IntermeshAPI
import IntermeshControl

/// Running figures of one run's membership, kept up to date by every heartbeat in O(1), so that a reconcile
/// pass can tell without looking at 100,000 members whether anything it decides on has changed.
public struct MembershipIndex: Sendable {
    /// Heartbeat times in tenths of a second, and how many members were last heard from in each tenth.
    var heartbeats: [Int64: Int] = [:]
    var version = 0
    var maxOuterStep = 0
    var count = 0

    public struct Summary: Sendable, Equatable {
        /// Changes whenever a member joins or goes, or changes what the reconciler decides on (its slot,
        /// site, incarnation or leaving flag); a heartbeat that only says "still here" leaves it alone.
        public var version: Int
        /// The newest outer step any member has reported.
        public var maxOuterStep: Int
        /// Members held, leaving ones included.
        public var count: Int
    }

    public var summary: Summary {
        Summary(version: version, maxOuterStep: maxOuterStep, count: count)
    }

    /// The earliest last heartbeat at or after `start` (to a tenth of a second, so possibly up to a tenth before it);
    /// nil when no member was last heard from since. Heartbeats before `start` were seen by an earlier pass.
    public func earliestHeartbeat(from start: Date?) -> Date? {
        let floor = start.map(Self.tenth) ?? .min
        return heartbeats.keys.lazy.filter { $0 >= floor }.min().map { Date(timeIntervalSince1970: Double($0) / 10) }
    }

    static func tenth(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 10).rounded(.down))
    }

    /// Accounts for a member replaced by a newer record (`old` nil: it joined; `new` nil: it went).
    mutating func update(old: MemberRecord?, new: MemberRecord?) {
        count += (new == nil ? 0 : 1) - (old == nil ? 0 : 1)
        if let old {
            let key = Self.tenth(old.lastHeartbeat)
            if let count = heartbeats[key], count > 1 { heartbeats[key] = count - 1 } else { heartbeats[key] = nil }
        }
        if let new {
            heartbeats[Self.tenth(new.lastHeartbeat), default: 0] += 1
            maxOuterStep = max(maxOuterStep, new.outerStep)
        }
        if let old, let new, old.slot == new.slot, old.site == new.site, old.incarnation == new.incarnation, old.leaving == new.leaving {
            return
        }
        version &+= 1
    }
}
