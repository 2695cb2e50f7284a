import Foundation
import IntermeshAPI
import IntermeshPlan

extension MeshDiff {
    /// Desired against actual: the plan's slots against the live members.
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
