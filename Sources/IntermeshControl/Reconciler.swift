import Foundation
import IntermeshPlan
import IntermeshSpec

/// Everything the reconciler looks at: the desired plan, the observed members, launch history, the time.
public struct ReconcileInput: Sendable {
    public var generation: Int
    /// The active revision's plan; nil when the run is stopped (everything drains).
    public var plan: Plan?
    public var members: [MemberRecord]
    public var slots: [String: SlotRecord]
    public var now: Date

    public init(generation: Int, plan: Plan?, members: [MemberRecord], slots: [String: SlotRecord] = [:], now: Date) {
        self.generation = generation
        self.plan = plan
        self.members = members
        self.slots = slots
        self.now = now
    }
}

/// What to do, as plain data; an executor carries it out.
public enum ReconcileAction: Sendable, Hashable {
    /// Start a new incarnation of a slot at its site.
    case launch(site: String, slot: String)
    /// Drain a member: it contributes its current outer step, then leaves.
    case stop(site: String, member: String, reason: String)
    /// Drop a member from membership now (it is gone or leaving).
    case evict(member: String, reason: String)
    case quarantine(slot: String, reason: String)
    case failRun(reason: String)
}

public struct ReconcileResult: Sendable, Equatable {
    public var actions: [ReconcileAction]
    public var conditions: [RunCondition]
    public var events: [String]
    /// Look again after this many seconds even if nothing changes (a heartbeat deadline, a backoff).
    public var requeueAfter: TimeInterval?
    /// The part of `requeueAfter` that no heartbeat can move: when the next slot's restart backoff ends.
    public var backoffEndsAfter: TimeInterval?
}

/// The control plane's reconciler: a pure function from desired and observed state to actions.
public enum Reconciler {
    public static func reconcile(_ input: ReconcileInput) -> ReconcileResult {
        var actions: [ReconcileAction] = []
        var events: [String] = []
        var wake: [TimeInterval] = []
        var nextDeadline = TimeInterval.infinity
        let policy = input.plan?.run.spec.faultPolicy
        var desired: [String: String] = [:]
        for site in input.plan?.sites ?? [] {
            for replica in site.replicas { desired[replica.slot] = site.name }
        }

        // Members: leaving or silent ones are evicted; ones the plan no longer wants are drained.
        var live: [String: MemberRecord] = [:]
        live.reserveCapacity(input.members.count)
        for member in input.members {
            let silence = input.now.timeIntervalSince(member.lastHeartbeat)
            let timeout = policy?.heartbeatTimeout.seconds ?? 10
            if member.leaving {
                actions.append(.evict(member: member.id, reason: "left (deathrattle)"))
                events.append("member \(member.id) of \(member.slot) left")
                continue
            }
            if silence > timeout {
                actions.append(.evict(member: member.id, reason: "lost: no heartbeat for \(Int(silence))s (timeout \(Int(timeout))s)"))
                events.append("member \(member.id) of \(member.slot) lost: no heartbeat for \(Int(silence))s")
                continue
            }
            nextDeadline = min(nextDeadline, timeout - silence)
            guard desired[member.slot] != nil else {
                let reason = input.plan == nil ? "run stopped" : "slot \(member.slot) is no longer in the plan"
                actions.append(.stop(site: member.site, member: member.id, reason: reason))
                events.append("draining member \(member.id) of \(member.slot): \(reason)")
                continue
            }
            if let other = live[member.slot] {
                // Two incarnations of one slot: the newer stays.
                let (older, newer) = other.incarnation < member.incarnation ? (other, member) : (member, other)
                actions.append(.stop(site: older.site, member: older.id, reason: "replaced by incarnation \(newer.incarnation)"))
                live[member.slot] = newer
                continue
            }
            live[member.slot] = member
        }

        // Slots without a live member are launched, within their restart budget.
        var failed = false
        if let policy, let plan = input.plan {
            let restart = policy.restart
            for site in plan.sites {
                for replica in site.replicas where live[replica.slot] == nil {
                    let record = input.slots[replica.slot] ?? SlotRecord()
                    if record.quarantined { continue }
                    let recent = record.launches.filter { input.now.timeIntervalSince($0) < restart.interval.seconds }
                    if recent.count > restart.attempts {
                        let reason = "crash-looping: \(recent.count) launches within \(restart.interval) (budget: \(restart.attempts) restarts per \(restart.interval))"
                        if restart.onExhausted == .fail {
                            actions.append(.failRun(reason: "\(replica.slot) \(reason)"))
                            failed = true
                        } else {
                            actions.append(.quarantine(slot: replica.slot, reason: reason))
                            events.append("quarantined \(replica.slot): \(reason)")
                        }
                        continue
                    }
                    if let last = recent.max() {
                        let backoff = min(restart.maxDelay.seconds, restart.delay.seconds * pow(restart.backoff, Double(recent.count - 1)))
                        let ready = last.addingTimeInterval(backoff)
                        if input.now < ready {
                            wake.append(ready.timeIntervalSince(input.now))
                            continue
                        }
                    }
                    actions.append(.launch(site: site.name, slot: replica.slot))
                    events.append(recent.isEmpty ? "launching \(replica.slot)" : "restarting \(replica.slot) (restart \(recent.count) of \(restart.attempts))")
                }
            }
        }

        var conditions: [RunCondition] = []
        if let policy, input.plan != nil {
            let count = live.count
            let degraded = count < policy.minReplicas
            conditions.append(RunCondition(
                type: "Degraded", status: degraded,
                reason: degraded ? "BelowMinReplicas" : "EnoughReplicas",
                message: "\(count) live replicas, minReplicas \(policy.minReplicas)", observedGeneration: input.generation))
            conditions.append(RunCondition(
                type: "Available", status: !degraded && !failed, reason: failed ? "RestartBudgetExhausted" : degraded ? "BelowMinReplicas" : "QuorumPossible",
                message: "\(count) of \(desired.count) replicas live", observedGeneration: input.generation))
        }
        let backoff = wake.filter { $0 > 0 }.min()
        if nextDeadline.isFinite { wake.append(nextDeadline) }
        let requeue = wake.filter { $0 > 0 }.min()
        return ReconcileResult(actions: actions, conditions: conditions, events: events, requeueAfter: requeue, backoffEndsAfter: backoff)
    }
}
