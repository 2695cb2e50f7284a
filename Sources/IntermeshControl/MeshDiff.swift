import Foundation
import IntermeshPlan

/// Desired against actual for one site.
public struct SiteDiff: Codable, Sendable, Equatable {
    public var site: String
    public var desired: Int
    public var live: Int
    /// Desired slots with no live member.
    public var missing: [String]
    /// Members on slots the plan does not have (a removed site or replica, or a slot never planned).
    public var extra: [String]
    /// Members that missed two heartbeats but are not yet past the timeout.
    public var stale: [String]
    /// Members whose acknowledged revision is not the active one.
    public var skewed: [String]

    public var inSync: Bool { missing.isEmpty && extra.isEmpty && stale.isEmpty && skewed.isEmpty }
}

/// What `intermesh diff RUN` shows: per site, missing, extra, stale and out-of-date replicas.
public struct MeshDiff: Codable, Sendable, Equatable {
    public var run: String
    public var contentHash: String
    public var sites: [SiteDiff]

    public var inSync: Bool { sites.allSatisfy(\.inSync) }

    public static func compute(plan: Plan, members: [MemberRecord], now: Date) -> MeshDiff {
        let policy = plan.run.spec.faultPolicy
        let alive = members.filter { $0.isLive(at: now, timeout: policy.heartbeatTimeout.seconds) }
        var sites: [SiteDiff] = plan.sites.map { site in
            let slots = Set(site.replicas.map(\.slot))
            let here = alive.filter { $0.site == site.name }
            return SiteDiff(
                site: site.name, desired: site.replicas.count, live: here.filter { slots.contains($0.slot) }.count,
                missing: site.replicas.map(\.slot).filter { slot in !here.contains { $0.slot == slot } },
                extra: here.filter { !slots.contains($0.slot) }.map(\.id).sorted(),
                stale: here.filter { now.timeIntervalSince($0.lastHeartbeat) > 2 * policy.heartbeatInterval.seconds }.map(\.id).sorted(),
                skewed: here.filter { $0.revision != nil && $0.revision != plan.contentHash }.map(\.id).sorted())
        }
        let planned = Set(plan.sites.map(\.name))
        for site in Set(alive.map(\.site)).subtracting(planned).sorted() {
            let extra = alive.filter { $0.site == site }.map(\.id).sorted()
            sites.append(SiteDiff(site: site, desired: 0, live: 0, missing: [], extra: extra, stale: [], skewed: []))
        }
        return MeshDiff(run: plan.runName, contentHash: plan.contentHash, sites: sites)
    }
}
