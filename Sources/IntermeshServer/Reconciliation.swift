import Foundation
import IntermeshAPI
import IntermeshControl
import IntermeshPlan
import IntermeshStore
import Logging
import ServiceLifecycle

/// Carries out what the reconciler decides: evictions, quarantines and conditions go to the store;
/// launch and stop directives wait for each site's agent in its heartbeat answers.
public actor Reconciliation {
    /// What the reconciliation keeps of one run between passes; deleting the run drops it whole.
    struct RunRuntime {
        /// Each site's directives from the last full pass.
        var directives: [String: [Directive]] = [:]
        /// Members the last pass wants gone: they leave after contributing their current outer step.
        var drains: Set<String> = []
        /// Members the last pass found disconnected (within the disconnect grace): logged once, not every pass.
        var disconnected: Set<String> = []
        /// When the directives were computed: an agent ignores a launch older than its own last launch of the slot.
        var issued: Date?
        /// Relaunches each site's agent still has to do, for the revision it last loaded.
        var pendingRestarts: [String: (revision: Int, count: Int)] = [:]

        /// Relaunches each site still has for `revision`: only counts reported for it or a later one say a site is done.
        func pendingRestarts(forRevision revision: Int) -> [String: Int] {
            pendingRestarts.filter { $0.value.revision >= revision }.mapValues(\.count)
        }
        var lease = RestartLease()
        /// The members the last full pass saw, for the lease.
        var readiness: RestartLease.Readiness?
        /// Joiners served by each donor recently (a transfer is assumed to last a minute).
        var transfers: [(donor: String, at: Date)] = []
        var lastFull: PassKey.Last?
    }

    let plane: ControlPlane
    var runs: [String: RunRuntime] = [:]

    public init(plane: ControlPlane) {
        self.plane = plane
    }

    /// An agent's relaunch needs; answers how many of its replicas it may have relaunching at once (0: wait).
    public func restarts(run: String, site: String, revision: Int, pending: Int) -> Int {
        var runtime = runs[run] ?? RunRuntime()
        runtime.pendingRestarts[site] = (revision, pending)
        let allowed = runtime.lease.request(site: site, pending: pending, pendingBySite: runtime.pendingRestarts.mapValues(\.count),
                                            readiness: runtime.readiness)
        runs[run] = runtime
        return allowed
    }

    /// Relaunches each site's agent still has, as reported for `revision` or a later one.
    public func pendingRestarts(run: String, revision: Int) -> [String: Int] {
        runs[run]?.pendingRestarts(forRevision: revision) ?? [:]
    }

    /// Picks the least-loaded donor for a joiner.
    public func assignDonor(run: String, joiner: String, donors: [String]) -> String {
        let now = plane.now()
        var recent = (runs[run]?.transfers ?? []).filter { now.timeIntervalSince($0.at) < 60 }
        var load: [String: Int] = [:]
        for transfer in recent { load[transfer.donor, default: 0] += 1 }
        let chosen = DonorAssignment.assign(joiners: [joiner], donors: donors, load: load)[joiner] ?? donors[0]
        recent.append((chosen, now))
        runs[run, default: RunRuntime()].transfers = recent
        return chosen
    }

    /// What an agent's tick gets: the site's directives as the last pass left them, and when they were computed.
    public func directives(run: String, site: String) -> (directives: [Directive], issuedAt: Date?) {
        (runs[run]?.directives[site] ?? [], runs[run]?.issued)
    }

    /// What a heartbeat answer carries: the site's directives, and which of `members` are to drain.
    public func orders(run: String, site: String, members: [String]) -> (directives: [Directive], drain: [String]) {
        let draining = runs[run]?.drains ?? []
        return (runs[run]?.directives[site] ?? [], draining.isEmpty ? [] : members.filter { draining.contains($0) })
    }

    /// Makes the next pass of the run a full one: launch history changed (an agent launched or lost a replica).
    public func invalidate(run: String) {
        runs[run]?.lastFull = nil
    }

    /// Forgets a deleted run: a new run of the same name starts with no lease, relaunches, drains or donors.
    public func forget(run: String) {
        runs[run] = nil
    }

    /// One level-based pass over every run (see `PassKey` for when a pass looks at every member); returns when
    /// to look again.
    @discardableResult
    public func pass() async throws -> TimeInterval {
        for run in try await plane.store.runs() {
            let started = ContinuousClock.now
            let now = plane.now()
            let plan = run.phase == .running ? try await plane.activePlan(of: run) : nil
            let timeout = if let plan { await plane.heartbeatTimeout(of: run, plan: plan) } else { 10.0 }
            let summary = await plane.members.summary(of: run.name)
            let key = PassKey(membership: summary.version, revision: run.activeRevision, phase: run.phase.rawValue, generation: run.generation)
            let rollingOut = try await plane.rolloutState(of: run.name)?.current.map { !$0.phase.finished } ?? false
            var runtime = runs[run.name] ?? RunRuntime()
            // Members silent since before the last full pass's deadline were decided on by it (lost, or disconnected
            // until `due`); only deadlines passed since, and disconnected members heard again, need a new look.
            let unseen = runtime.lastFull.map { $0.at.addingTimeInterval(-timeout) }
            let deadlinePassed = await plane.members.earliestHeartbeat(of: run.name, from: unseen).map { now.timeIntervalSince($0) > timeout } ?? false
            let heard = runtime.disconnected.isEmpty ? false
                : await plane.members.anyLive(runtime.disconnected, in: run.name, timeout: timeout, now: now)
            guard PassKey.fullPassNeeded(last: runtime.lastFull, current: key, now: now, heartbeatDeadlinePassed: deadlinePassed,
                                         disconnectedHeard: heard, rolloutInProgress: rollingOut) else {
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
            let live = members.filter { $0.isLive(at: now, timeout: timeout) }
            let covered = Set(live.map(\.slot))
            let uncovered = (plan?.sites ?? []).flatMap(\.replicas).map(\.slot).filter { !covered.contains($0) }
            let slots = try await plane.store.slots(of: run.name, named: uncovered)
            let input = ReconcileInput(generation: run.generation, plan: plan, members: members, slots: slots, conditions: run.conditions,
                                       heartbeatTimeout: timeout, now: now)
            // A pass over 100,000 members is a few hundred milliseconds of pure compute: run it off the
            // cooperative pool so request handling keeps its threads.
            let result = await withCheckedContinuation { continuation in
                DispatchQueue.global(qos: .utility).async { continuation.resume(returning: Reconciler.reconcile(input)) }
            }
            // Conditions first: a run stopped or failed by this pass must never be read without the condition that says why.
            let outerStep = max(run.outerStep, members.map(\.outerStep).max() ?? 0)
            await plane.pace.record(run: run.name, step: outerStep, at: now)
            if result.conditions != run.conditions || outerStep != run.outerStep {
                try await plane.store.updateStatus(of: run.name, outerStep: outerStep, conditions: result.conditions, now: now)
            }
            var siteDirectives: [String: [Directive]] = [:]
            var evicted: [String] = []
            var draining: Set<String> = []
            for action in result.actions {
                switch action {
                case let .launch(site, slot, replacing):
                    siteDirectives[site, default: []].append(Directive(action: .launch, slot: slot, member: replacing,
                                                                       reason: replacing.map { "replaces lost member \($0)" }))
                    // Kept with the slot until it launches again, so a later pass (or another server) still names it.
                    if let replacing, slots[slot]?.lostMember != replacing {
                        var record = slots[slot] ?? SlotRecord()
                        record.recordReplacing(replacing)
                        try await plane.store.saveSlot(slot, record, run: run.name)
                    }
                case let .stop(site, member, reason):
                    let slot = members.first { $0.id == member }?.slot ?? ""
                    siteDirectives[site, default: []].append(Directive(action: .stop, slot: slot, member: member, reason: reason))
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
                case let .stopRun(reason):
                    try await plane.store.setPhase(.stopped, of: run.name, now: now)
                    _ = try await plane.store.appendEvent(run: run.name, kind: "Stopped", message: reason, now: now)
                }
            }
            if !evicted.isEmpty {
                try await plane.members.remove(run: run.name, ids: evicted)
                await plane.members.markLost(run: run.name, result.events.compactMap { event in
                    if case let .memberLost(member, slot, _) = event { return (member, slot) }
                    return nil
                })
                ServerMetrics.evictions(run: run.name).increment(by: evicted.count)
            }
            // Events only for state changes: launches repeat until an agent acts on them, drains until the member leaves.
            let changes = result.events.filter { event in
                !event.repeatsEachPass && !(event.drainedMember.map(runtime.drains.contains) ?? false)
                    && !(event.disconnectedMember.map(runtime.disconnected.contains) ?? false)
            }
            runtime.disconnected = Set(result.events.compactMap(\.disconnectedMember))
            runtime.directives = siteDirectives
            runtime.issued = now
            runtime.drains = draining
            try await plane.store.appendEvents(run: run.name, changes.map { ($0.kind, $0.message) }, now: now)
            if let plan {
                let policy = plan.run.spec.faultPolicy
                runtime.readiness = RestartLease.Readiness(ready: live.filter(\.isReady).count, live: live.count,
                                                           minReplicas: policy.minReplicas, maxParallel: plan.run.spec.rollout.maxParallel)
            }
            runtime.lastFull = PassKey.Last(key: key, at: now, due: now.addingTimeInterval(min(60, result.backoffEndsAfter ?? 60)))
            runs[run.name] = runtime
            if let plan {
                try await advanceRollout(run: run, plan: plan, live: live, runtime: runtime, now: now)
            }
            ServerMetrics.members(run: run.name).record(members.count - evicted.count)
            ServerMetrics.reconcilePass(full: true).record(duration: ContinuousClock.now - started)
        }
        // Heartbeat deadlines need no finer look than a quarter second (detection stays within timeout + 1 s).
        return 0.25
    }
}

extension Reconciliation {
    /// Moves the run's rollout on from what its live members (as of this pass) report.
    func advanceRollout(run: RunRecord, plan: Plan, live: [MemberRecord], runtime: RunRuntime, now: Date) async throws {
        guard let state = try await plane.rolloutState(of: run.name), let current = state.current, !current.phase.finished else { return }
        let rules = await plane.rolloutPolicy(plan.run, name: run.name)
        let observed = live.map {
            RolloutMember(site: $0.site, outerStep: $0.outerStep, acknowledged: $0.acknowledged, active: $0.activeRevision, evalLoss: $0.evalLoss)
        }
        let pending = runtime.pendingRestarts(forRevision: current.revision)
        let step = MemberBeat.clamp(step: max(run.outerStep, live.map(\.outerStep).max() ?? 0))
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
