import Foundation
import IntermeshAPI
import IntermeshPlan
import IntermeshSpec

/// Everything the reconciler looks at: the desired plan, the observed members, launch history, the time.
public struct ReconcileInput: Sendable {
    public var generation: Int
    /// The active revision's plan; nil when the run is stopped (everything drains).
    public var plan: Plan?
    public var members: [MemberRecord]
    public var slots: [String: SlotRecord]
    /// The run's conditions as the last pass left them (their transition times carry over).
    public var conditions: [RunCondition]
    /// The heartbeat timeout members are held to, when it is not the plan's (a rollout changing it is under way).
    public var heartbeatTimeout: TimeInterval?
    public var now: Date

    public init(generation: Int, plan: Plan?, members: [MemberRecord], slots: [String: SlotRecord] = [:], conditions: [RunCondition] = [],
                heartbeatTimeout: TimeInterval? = nil, now: Date) {
        self.generation = generation
        self.plan = plan
        self.members = members
        self.slots = slots
        self.conditions = conditions
        self.heartbeatTimeout = heartbeatTimeout
        self.now = now
    }
}

/// What to do, as plain data; an executor carries it out.
public enum ReconcileAction: Sendable, Hashable {
    /// Start a new incarnation of a slot at its site; `replacing`: the incarnation it replaces was lost (silent past
    /// the timeout and any disconnect grace), and is stopped first if it still runs.
    case launch(site: String, slot: String, replacing: String?)
    /// Drain a member: it contributes its current outer step, then leaves.
    case stop(site: String, member: String, reason: String)
    /// Drop a member from membership now (it is gone or leaving).
    case evict(member: String, reason: String)
    case quarantine(slot: String, reason: String)
    case failRun(reason: String)
    /// `faultPolicy.belowMinReplicas: stop`: the run lost its quorum for longer than the join timeout.
    case stopRun(reason: String)
}

/// What a pass saw happen, for the run's event log.
public enum ReconcileEvent: Sendable, Hashable {
    case memberLeft(member: String, slot: String)
    case memberLost(member: String, slot: String, silentFor: Int)
    /// Silent past the heartbeat timeout, within `faultPolicy.disconnectGrace`: out of quorums, its slot kept.
    case memberDisconnected(member: String, slot: String, silentFor: Int, grace: Int)
    case draining(member: String, slot: String, reason: String)
    case quarantined(slot: String, reason: String)
    /// Said by every pass until an agent acts on it.
    case launching(slot: String)
    case restarting(slot: String, restart: Int, of: Int)

    /// The event log's kind.
    public var kind: String {
        if case .quarantined = self { return "Quarantined" }
        return "Reconciled"
    }

    /// A launch is decided again by every pass until its agent acts on it: it is logged when launched, not here.
    public var repeatsEachPass: Bool {
        switch self {
        case .launching, .restarting: return true
        default: return false
        }
    }

    /// The member a drain is about, to log it once per member.
    public var drainedMember: String? {
        if case let .draining(member, _, _) = self { return member }
        return nil
    }

    /// The member a disconnection is about, to log it once while it lasts.
    public var disconnectedMember: String? {
        if case let .memberDisconnected(member, _, _, _) = self { return member }
        return nil
    }

    public var message: String {
        switch self {
        case let .memberLeft(member, slot): return "member \(member) of \(slot) left"
        case let .memberLost(member, slot, silence): return "member \(member) of \(slot) lost: no heartbeat for \(silence)s"
        case let .memberDisconnected(member, slot, silence, grace):
            return "member \(member) of \(slot) disconnected: no heartbeat for \(silence)s; its slot is kept for \(grace)s (disconnectGrace)"
        case let .draining(member, slot, reason): return "draining member \(member) of \(slot): \(reason)"
        case let .quarantined(slot, reason): return "quarantined \(slot): \(reason)"
        case let .launching(slot): return "launching \(slot)"
        case let .restarting(slot, restart, attempts): return "restarting \(slot) (restart \(restart) of \(attempts))"
        }
    }
}

public struct ReconcileResult: Sendable, Equatable {
    public var actions: [ReconcileAction]
    public var conditions: [RunCondition]
    public var events: [ReconcileEvent]
    /// Look again after this many seconds even if nothing changes (a heartbeat deadline, a backoff).
    public var requeueAfter: TimeInterval?
    /// The part of `requeueAfter` that no heartbeat can move: when the next slot's restart backoff ends.
    public var backoffEndsAfter: TimeInterval?
}

/// The control plane's reconciler: a pure function from desired and observed state to actions.
public enum Reconciler {
    public static func reconcile(_ input: ReconcileInput) -> ReconcileResult {
        var actions: [ReconcileAction] = []
        var events: [ReconcileEvent] = []
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
        // Slots whose member is disconnected (within the grace), and members lost this pass by slot.
        var disconnected: [String: MemberRecord] = [:]
        var lost: [String: String] = [:]
        for member in input.members {
            let silence = input.now.timeIntervalSince(member.lastHeartbeat)
            let timeout = input.heartbeatTimeout ?? policy?.heartbeatTimeout.seconds ?? 10
            if member.leaving {
                actions.append(.evict(member: member.id, reason: "left (deathrattle)"))
                events.append(.memberLeft(member: member.id, slot: member.slot))
                continue
            }
            if silence > timeout {
                let grace = policy?.graceSeconds ?? 0
                // Within the grace the slot stays the member's: nothing is launched for it, and it rejoins when it is heard again.
                if silence <= timeout + grace, input.plan != nil, desired[member.slot] != nil {
                    if disconnected[member.slot] == nil { disconnected[member.slot] = member }
                    events.append(.memberDisconnected(member: member.id, slot: member.slot, silentFor: Int(silence), grace: Int(grace)))
                    // A pass must run once the grace has ended, even one that lands on its last instant.
                    wake.append(max(0.05, timeout + grace - silence))
                    continue
                }
                let beyond = grace > 0 ? ", disconnectGrace \(Int(grace))s" : ""
                actions.append(.evict(member: member.id, reason: "lost: no heartbeat for \(Int(silence))s (timeout \(Int(timeout))s\(beyond))"))
                events.append(.memberLost(member: member.id, slot: member.slot, silentFor: Int(silence)))
                if desired[member.slot] != nil { lost[member.slot] = member.id }
                continue
            }
            nextDeadline = min(nextDeadline, timeout - silence)
            guard desired[member.slot] != nil else {
                let reason = input.plan == nil ? "run stopped" : "slot \(member.slot) is no longer in the plan"
                actions.append(.stop(site: member.site, member: member.id, reason: reason))
                events.append(.draining(member: member.id, slot: member.slot, reason: reason))
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
                for replica in site.replicas where live[replica.slot] == nil && disconnected[replica.slot] == nil {
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
                            events.append(.quarantined(slot: replica.slot, reason: reason))
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
                    // The agent stops a lost incarnation it still runs before it launches the next one.
                    actions.append(.launch(site: site.name, slot: replica.slot, replacing: lost[replica.slot] ?? record.lostMember))
                    events.append(recent.isEmpty ? .launching(slot: replica.slot)
                        : .restarting(slot: replica.slot, restart: recent.count, of: restart.attempts))
                }
            }
        }

        // A stopped run (no plan) keeps the conditions it had when it stopped: they say why.
        var conditions: [RunCondition] = input.plan == nil ? input.conditions : []
        if let policy, input.plan != nil {
            let count = live.count
            let degraded = count < policy.minReplicas
            let before = input.conditions.first { $0.type == "Degraded" }
            // Below minReplicas before ever reaching it is a start, not a loss.
            let lost = degraded && (before.map { !$0.status || $0.reason == "BelowMinReplicas" } ?? false)
            let degradedCondition = Self.condition(
                "Degraded", degraded, reason: !degraded ? "EnoughReplicas" : lost ? "BelowMinReplicas" : "WaitingForReplicas",
                message: "\(count) live replicas\(disconnected.isEmpty ? "" : ", \(disconnected.count) disconnected"), minReplicas \(policy.minReplicas)",
                before: before, input: input)
            conditions.append(degradedCondition)
            if lost, policy.belowMinReplicas == .stop, let since = degradedCondition.lastTransitionTime {
                let below = input.now.timeIntervalSince(since)
                if below >= policy.joinTimeout.seconds {
                    actions.append(.stopRun(reason: "below minReplicas (\(count) of \(policy.minReplicas) live) for \(Int(below))s, "
                        + "longer than the join timeout \(policy.joinTimeout); faultPolicy.belowMinReplicas is stop"))
                } else {
                    wake.append(policy.joinTimeout.seconds - below)
                }
            }
            conditions.append(Self.condition(
                "Available", !degraded && !failed, reason: failed ? "RestartBudgetExhausted" : degraded ? "BelowMinReplicas" : "QuorumPossible",
                message: "\(count) of \(desired.count) replicas live", before: input.conditions.first { $0.type == "Available" }, input: input))
        }
        let backoff = wake.filter { $0 > 0 }.min()
        if nextDeadline.isFinite { wake.append(nextDeadline) }
        let requeue = wake.filter { $0 > 0 }.min()
        return ReconcileResult(actions: actions, conditions: conditions, events: events, requeueAfter: requeue, backoffEndsAfter: backoff)
    }

    /// A condition whose transition time carries over while its status stays.
    static func condition(_ type: String, _ status: Bool, reason: String, message: String, before: RunCondition?,
                          input: ReconcileInput) -> RunCondition {
        let since = before.flatMap { $0.status == status ? $0.lastTransitionTime : nil } ?? input.now
        return RunCondition(type: type, status: status, reason: reason, message: message, observedGeneration: input.generation,
                            lastTransitionTime: since)
    }
}
