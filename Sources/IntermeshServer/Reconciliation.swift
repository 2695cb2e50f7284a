import Foundation
import IntermeshControl
import IntermeshPlan
import IntermeshStore
import Logging
import ServiceLifecycle

/// A directive for a site's agent, from the latest reconcile pass.
public struct Directive: Codable, Sendable, Equatable {
    /// `launch` or `stop`.
    public var action: String
    public var slot: String
    public var member: String?
    public var reason: String?

    public init(action: String, slot: String, member: String?, reason: String?) {
        self.action = action
        self.slot = slot
        self.member = member
        self.reason = reason
    }
}

/// Carries out what the reconciler decides: evictions, quarantines and conditions go to the store;
/// launch and stop directives wait for each site's agent in its heartbeat answers.
public actor Reconciliation {
    let plane: ControlPlane
    var directives: [String: [String: [Directive]]] = [:]
    /// Members each run's last pass wants gone: they leave after contributing their current outer step.
    var drains: [String: Set<String>] = [:]
    /// When each run's directives were computed: an agent ignores a launch older than its own last launch of the slot.
    var issued: [String: Date] = [:]

    public init(plane: ControlPlane) {
        self.plane = plane
    }

    /// Relaunches each site's agent still has to do, for the revision it last loaded.
    var pendingRestarts: [String: [String: (revision: Int, count: Int)]] = [:]
    /// The site that may relaunch replicas now (one site at a time), per run.
    var restartLease: [String: String] = [:]
    /// Members per run that are live and past joining, from the last pass; and how many are live at all.
    var readiness: [String: (ready: Int, live: Int, minReplicas: Int, maxParallel: Int)] = [:]

    /// An agent's relaunch needs; answers how many of its replicas it may have relaunching at once (0: wait).
    /// One site at a time relaunches, and never so many that the run's ready members drop below minReplicas.
    public func restarts(run: String, site: String, revision: Int, pending: Int) -> Int {
        pendingRestarts[run, default: [:]][site] = (revision, pending)
        if pending == 0 {
            if restartLease[run] == site { restartLease[run] = nil }
            return 0
        }
        if let holder = restartLease[run], holder != site, (pendingRestarts[run]?[holder]?.count ?? 0) > 0 { return 0 }
        guard let readiness = readiness[run], readiness.ready == readiness.live else { return 0 }
        let allowed = min(readiness.maxParallel, readiness.ready - readiness.minReplicas)
        guard allowed > 0 else { return 0 }
        restartLease[run] = site
        return allowed
    }

    /// Joiners served by each donor recently (a transfer is assumed to last a minute).
    var transfers: [String: [(donor: String, at: Date)]] = [:]

    /// Picks the least-loaded donor for a joiner.
    public func assignDonor(run: String, joiner: String, donors: [String]) -> String {
        let now = plane.now()
        var recent = (transfers[run] ?? []).filter { now.timeIntervalSince($0.at) < 60 }
        var load: [String: Int] = [:]
        for transfer in recent { load[transfer.donor, default: 0] += 1 }
        let chosen = DonorAssignment.assign(joiners: [joiner], donors: donors, load: load)[joiner] ?? donors[0]
        recent.append((chosen, now))
        transfers[run] = recent
        return chosen
    }

    /// The directives of one site, as the last pass left them.
    public func directives(run: String, site: String) -> [Directive] {
        directives[run]?[site] ?? []
    }

    /// What a heartbeat answer carries: the site's directives, and which of `members` are to drain.
    public func orders(run: String, site: String, members: [String]) -> (directives: [Directive], drain: [String]) {
        let draining = drains[run] ?? []
        return (directives[run]?[site] ?? [], draining.isEmpty ? [] : members.filter { draining.contains($0) })
    }

    public func issuedAt(run: String) -> Date? {
        issued[run]
    }

    /// What each run's last full pass decided on; equal keys and no passed deadline mean the same decisions.
    struct PassKey: Equatable {
        var membership: Int
        var revision: Int
        var phase: RunPhase
        var generation: Int
    }

    /// Per run: the key of the last full pass, and when a full pass is due whatever happens (a restart backoff ends).
    var lastFull: [String: (key: PassKey, due: Date)] = [:]

    /// Makes the next pass of the run a full one: launch history changed (an agent launched or lost a replica).
    public func invalidate(run: String) {
        lastFull[run] = nil
    }

    /// One level-based pass over every run; returns when to look again.
    ///
    /// A full pass looks at every member (a few hundred milliseconds at 100,000). It runs when something it
    /// decides on may have changed: a member joined, left or changed slot or incarnation (the membership
    /// index's version), a heartbeat deadline passed (the index's earliest heartbeat), a restart backoff
    /// ended, the revision or phase changed, or a rollout is in progress. Otherwise a pass only records the
    /// outer step, so heartbeats that say "still here" cost no pass.
    @discardableResult
    public func pass() async throws -> TimeInterval {
        for run in try await plane.store.runs() {
            let started = ContinuousClock.now
            let now = plane.now()
            let plan = run.phase == .running ? try await plane.activePlan(of: run) : nil
            let timeout = plan?.run.spec.faultPolicy.heartbeatTimeout.seconds ?? 10
            let summary = await plane.members.summary(of: run.name)
            let key = PassKey(membership: summary.version, revision: run.activeRevision, phase: run.phase, generation: run.generation)
            let rollingOut = try await plane.rolloutState(of: run.name)?.current.map { !$0.phase.finished } ?? false
            let deadlinePassed = summary.earliestHeartbeat.map { now.timeIntervalSince($0) > timeout } ?? false
            if let last = lastFull[run.name], last.key == key, now < last.due, !deadlinePassed, !rollingOut {
                let outerStep = max(run.outerStep, summary.maxOuterStep)
                await plane.pace.record(run: run.name, step: outerStep, at: now)
                if outerStep != run.outerStep {
                    try await plane.store.updateStatus(of: run.name, outerStep: outerStep, conditions: run.conditions, now: now)
                }
                ServerMetrics.members(run: run.name).record(summary.count)
                ServerMetrics.reconcilePass(full: false).record(duration: ContinuousClock.now - started)
                continue
            }
            let members = await plane.members.members(of: run.name)
            // Launch history matters only for slots with no live member.
            let covered = Set(members.filter { $0.isLive(at: now, timeout: timeout) }.map(\.slot))
            let uncovered = (plan?.sites ?? []).flatMap(\.replicas).map(\.slot).filter { !covered.contains($0) }
            let slots = try await plane.store.slots(of: run.name, named: uncovered)
            let input = ReconcileInput(generation: run.generation, plan: plan, members: members, slots: slots, now: now)
            // A pass over 100,000 members is a few hundred milliseconds of pure compute: run it off the
            // cooperative pool so request handling keeps its threads.
            let result = await withCheckedContinuation { continuation in
                DispatchQueue.global(qos: .utility).async { continuation.resume(returning: Reconciler.reconcile(input)) }
            }
            var siteDirectives: [String: [Directive]] = [:]
            var evicted: [String] = []
            var draining: Set<String> = []
            for action in result.actions {
                switch action {
                case let .launch(site, slot):
                    siteDirectives[site, default: []].append(Directive(action: "launch", slot: slot, member: nil, reason: nil))
                case let .stop(site, member, reason):
                    let slot = members.first { $0.id == member }?.slot ?? ""
                    siteDirectives[site, default: []].append(Directive(action: "stop", slot: slot, member: member, reason: reason))
                    draining.insert(member)
                case let .evict(member, _):
                    evicted.append(member)
                case let .quarantine(slot, _):
                    var record = slots[slot] ?? SlotRecord()
                    record.quarantined = true
                    try await plane.store.saveSlot(slot, record, run: run.name)
                case let .failRun(reason):
                    try await plane.store.setPhase(.failed, of: run.name, now: now)
                    _ = try await plane.store.appendEvent(run: run.name, kind: "Failed", message: reason, now: now)
                }
            }
            if !evicted.isEmpty {
                try await plane.members.remove(run: run.name, ids: evicted)
                ServerMetrics.evictions(run: run.name).increment(by: evicted.count)
            }
            directives[run.name] = siteDirectives
            issued[run.name] = now
            // Events only for state changes: launch directives repeat until an agent acts on them.
            // and drains repeat until the member leaves: each is an event once.
            let drainingBefore = drains[run.name] ?? []
            let changes = result.events.filter { event in
                !event.hasPrefix("launching ") && !event.hasPrefix("restarting ")
                    && !drainingBefore.contains { event.hasPrefix("draining member \($0) ") }
            }
            drains[run.name] = draining
            try await plane.store.appendEvents(run: run.name, changes.map { ($0.hasPrefix("quarantined ") ? "Quarantined" : "Reconciled", $0) }, now: now)
            let outerStep = max(run.outerStep, members.map(\.outerStep).max() ?? 0)
            await plane.pace.record(run: run.name, step: outerStep, at: now)
            if result.conditions != run.conditions || outerStep != run.outerStep {
                try await plane.store.updateStatus(of: run.name, outerStep: outerStep, conditions: result.conditions, now: now)
            }
            if let plan { try await advanceRollout(run: run, plan: plan, members: members, now: now) }
            lastFull[run.name] = (key, now.addingTimeInterval(min(60, result.backoffEndsAfter ?? 60)))
            ServerMetrics.members(run: run.name).record(members.count - evicted.count)
            ServerMetrics.reconcilePass(full: true).record(duration: ContinuousClock.now - started)
        }
        // Heartbeat deadlines need no finer look than a quarter second (detection stays within timeout + 1 s).
        return 0.25
    }
}

extension Reconciliation {
    /// Moves the run's rollout on from what its live members report.
    func advanceRollout(run: RunRecord, plan: Plan, members: [MemberRecord], now: Date) async throws {
        let policy = plan.run.spec.faultPolicy
        let live = members.filter { $0.isLive(at: now, timeout: policy.heartbeatTimeout.seconds) }
        let ready = live.filter(\.isReady)
        readiness[run.name] = (ready.count, live.count, policy.minReplicas, plan.run.spec.rollout.maxParallel)
        guard let state = try await plane.rolloutState(of: run.name), let current = state.current, !current.phase.finished else { return }
        let rules = await plane.rolloutPolicy(plan.run, name: run.name)
        let observed = live.map {
            RolloutMember(site: $0.site, outerStep: $0.outerStep, acknowledged: $0.acknowledged, active: $0.activeRevision, evalLoss: $0.evalLoss)
        }
        // Only counts reported for this revision or a later one say that a site's relaunches are done.
        let pending = pendingRestarts(run: run.name, revision: current.revision)
        let step = max(run.outerStep, live.map(\.outerStep).max() ?? 0)
        try await plane.updateRollout(run: run.name) { stored in
            guard var state = stored else { return nil }
            let outcome = RolloutMachine.advance(&state, members: observed, pendingRestarts: pending, policy: rules, currentStep: step, now: now)
            guard state != stored else { return nil }
            return RolloutUpdate(state: state, events: outcome.events, activeRevision: outcome.activeRevision)
        }
    }
}

/// Runs reconcile passes on a tick (and sooner when a pass asks), until graceful shutdown.
struct ReconcileService: Service {
    let reconciliation: Reconciliation
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            var delay: TimeInterval = 1
            do {
                delay = try await reconciliation.pass()
            } catch {
                logger.error("reconcile pass failed: \(error)")
            }
            let milliseconds = Int(delay * 1000)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(milliseconds)) }
        }
    }
}
