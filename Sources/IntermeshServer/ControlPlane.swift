import Foundation
import IntermeshAPI
import IntermeshControl
import IntermeshPlan
import IntermeshSpec
import IntermeshStore

/// The control plane's operations, over a store and an injected clock; the HTTP layer only translates.
public struct ControlPlane: Sendable {
    public let store: any Store
    public let now: @Sendable () -> Date
    public let members: MemberRegistry
    let plans = PlanCache()
    let rollouts = RolloutCache()
    public let pace = StepPace()
    /// Wakes members waiting for a run's revision schedule to change.
    public let scheduleChanges = ScheduleChanges()
    /// torchft runs' last quorum requests and answers (the Lighthouse endpoint).
    let torchftRounds = LighthouseRounds()
    /// The port the Lighthouse endpoint listens on, once it does; agents hand it to torchft engines.
    public let lighthousePort = ListeningPort()
    /// Connections members' data-plane ports refused, per member.
    let rejections = RejectionTally()
    /// Losses and quorums over outer steps, for the console's charts.
    public let series = TrainingSeries()
    /// One-time sign-in links of the console.
    public let signInCodes = SignInCodes()
    /// Where specs are validated and compiled: off the request threads, bounded.
    let compiler: CompileQueue
    /// The lease this server holds on a shared store; nil on a store of its own.
    public let lease: ServerLease?

    public init(store: any Store, now: @escaping @Sendable () -> Date = Date.init, compiler: CompileQueue = CompileQueue(), lease: ServerLease? = nil) {
        self.store = store
        self.lease = lease
        self.now = now
        self.compiler = compiler
        members = MemberRegistry(store: store)
    }

    public struct Applied: Sendable {
        public var outcome: ApplyOutcome
        public var warnings: [String]
    }

    /// Validates and compiles a spec, then stores it as the run's next revision (or nothing, when unchanged).
    public func apply(specText: String, checkRevision: Int?, by principal: Principal) async throws -> Applied {
        let (loaded, plan) = try await compiler.run { () -> (LoadedSpec, Plan?) in
            let loaded = SpecLoader().load(name: "spec", text: specText)
            return (loaded, loaded.validRun.map(Planner.compile))
        }
        guard let run = loaded.validRun, let plan else {
            let errors = loaded.diagnostics.filter(\.isError)
            throw ControlPlaneError.invalidSpec("the spec has \(errors.count) error\(errors.count == 1 ? "" : "s")",
                                                details: loaded.diagnostics.map(\.description))
        }
        let name = run.metadata.name
        var needs: ChangeNeeds?
        if let existing = try await store.run(name), let active = try await activePlan(of: existing) {
            let diff = SpecDiff(old: active.run, new: run)
            if !diff.immutable.isEmpty {
                throw ControlPlaneError.immutableField(
                    "\(diff.immutable.map(\.path).joined(separator: ", ")) cannot change within a run; nothing was applied",
                    details: diff.immutable.map { "\($0.path): \($0.old ?? "") -> \($0.new ?? ""): \(SpecDiff.advice($0))" })
            }
            needs = ChangeNeeds(diff, relaunching: Set(plan.relaunches(from: active).keys))
        }
        let policy = await rolloutPolicy(run, name: name)
        let currentStep = await currentStep(of: name)
        var request = ApplyRequest(
            run: run.metadata.name, specText: specText,
            canonical: String(decoding: run.canonicalJSON(), as: UTF8.self),
            plan: String(decoding: PlanWriter.json(plan), as: UTF8.self),
            contentHash: run.contentHash, appliedBy: principal.name, checkRevision: checkRevision, now: now())
        let at = request.now
        request.rollout = { [needs] number, stored in
            guard let needs, var state = stored ?? (number > 1 ? RolloutState.initial(revision: number - 1) : nil) else {
                return (RolloutState.initial(revision: number), [])
            }
            let events = RolloutMachine.begin(&state, revision: number, needs: needs, policy: policy, currentStep: currentStep,
                                              appliedBy: principal.name, now: at)
            return (state, events)
        }
        do {
            let outcome = try await store.apply(request)
            await rollouts.set(nil, run: name)
            if case .unchanged = outcome {} else { await scheduleChanges.changed(run: name) }
            return Applied(outcome: outcome, warnings: loaded.diagnostics.filter { !$0.isError }.map(\.description))
        } catch let error as StoreError {
            if case let .conflict(current) = error.code {
                throw ControlPlaneError.conflict(error.message, current: current)
            }
            throw error
        }
    }

    /// The run's active plan, decoded.
    public func activePlan(of run: RunRecord) async throws -> Plan? {
        try await plans.plan(run: run.name, revision: run.activeRevision) {
            try await store.revision(of: run.name, number: run.activeRevision)?.plan
        }
    }

    /// A revision's plan, decoded (cached with the active one).
    public func plan(of run: String, revision: Int) async throws -> Plan? {
        try await plans.plan(run: run, revision: revision) {
            try await store.revision(of: run, number: revision)?.plan
        }
    }

    /// The heartbeat timeout members of a run are held to now. Members switch to a revision's heartbeat interval at
    /// its activation step, so while a rollout is under way some still beat at the interval of the revision it
    /// started from: the longer of the two timeouts applies until it finishes.
    public func heartbeatTimeout(of run: RunRecord, plan: Plan) async -> TimeInterval {
        let active = plan.run.spec.faultPolicy.heartbeatTimeout.seconds
        guard let rollout = try? await rolloutState(of: run.name)?.current, !rollout.phase.finished, rollout.from != run.activeRevision,
              let from = try? await self.plan(of: run.name, revision: rollout.from) else { return active }
        return max(active, from.run.spec.faultPolicy.heartbeatTimeout.seconds)
    }

    /// The spec's rollout settings, with the lead raised where outer steps are so short that members would not
    /// hear of a change in time: every member gets at least two heartbeat intervals before the activation step.
    public func rolloutPolicy(_ run: TrainingRun, name: String) async -> RolloutPolicy {
        var policy = RolloutPolicy(run.spec.rollout)
        if let seconds = await pace.secondsPerStep(run: name), seconds > 0 {
            let needed = Int((2 * run.spec.faultPolicy.heartbeatInterval.seconds / seconds).rounded(.up))
            policy.leadSteps = min(10_000, max(policy.leadSteps, needed))
        }
        return policy
    }

    /// The run's rollout state (cached).
    public func rolloutState(of run: String) async throws -> RolloutState? {
        try await rollouts.state(run: run) { try await store.rolloutState(of: run) }
    }

    /// Changes the rollout state in one transaction (see `Store.updateRolloutState`) and keeps the cache.
    @discardableResult
    public func updateRollout(run: String, _ transform: @Sendable (RolloutState?) throws -> RolloutUpdate?) async throws -> RolloutState? {
        let before = try await rolloutState(of: run)?.schedule
        let state = try await store.updateRolloutState(run: run, now: now(), transform)
        await rollouts.set(state, run: run)
        if state?.schedule != before { await scheduleChanges.changed(run: run) }
        return state
    }

    /// From which outer step each revision is active at `site`, as members follow it.
    public func schedule(of run: RunRecord, site: String) async throws -> [RevisionSchedule.Entry] {
        let entries = try await rolloutState(of: run.name)?.schedule.entries ?? [.init(revision: run.activeRevision, fromStep: 0)]
        return entries.filter { $0.covers(site) }
    }

    /// The newest outer step a live member of the run has completed. Heartbeats refuse larger steps than
    /// `MemberBeat.maxOuterStep`; a store written before they did may hold one, and rollout planning adds to it.
    public func currentStep(of run: String) async -> Int {
        let stored = (try? await store.run(run))?.outerStep ?? 0
        let step = max(stored, await members.members(of: run).filter { !$0.leaving }.map(\.outerStep).max() ?? 0)
        return MemberBeat.clamp(step: step)
    }

    public func requireRun(_ name: String) async throws -> RunRecord {
        guard let run = try await store.run(name) else { throw ControlPlaneError.notFound("no run named \(name)") }
        return run
    }
}

extension ApplyOutcome {
    /// As the API reports it.
    var wire: ApplyResponse.Outcome {
        switch self {
        case .created: return .created
        case .updated: return .updated
        case .unchanged: return .unchanged
        }
    }
}
