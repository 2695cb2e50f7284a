import Foundation
import Hummingbird
import IntermeshAPI
import IntermeshControl
import IntermeshPlan
import IntermeshSpec
import IntermeshStore

extension API {
    func registerRollouts(on router: Router<ServerContext>) {
        router.get("/v1/runs/:run/rollout") { _, context in try await rolloutStatus(context) }
        router.get("/v1/runs/:run/rollout/history") { _, context in try await rolloutHistory(context) }
        for verb in RolloutVerb.allCases {
            router.post("/v1/runs/:run/rollout/\(verb.rawValue)") { _, context in try await rolloutVerb(context, verb) }
        }
        router.post("/v1/runs/:run/rollout/undo") { request, context in try await undo(request, context) }
    }

    func rolloutStatus(_ context: ServerContext) async throws -> Response {
        let name = try runName(context)
        _ = try context.requireReader(run: name)
        let run = try await plane.requireRun(name)
        guard let plan = try await plane.activePlan(of: run) else { throw APIError.notFound("run \(name) has no active revision") }
        return try JSONBody.response(try await rolloutStatus(run: run, plan: plan))
    }

    /// The rollout in progress, per site: members, how many loaded its revision and how many train with it.
    func rolloutStatus(run: RunRecord, plan: Plan) async throws -> RolloutStatus {
        let name = run.name
        let state = try await plane.rolloutState(of: name)
        let timeout = plan.run.spec.faultPolicy.heartbeatTimeout.seconds
        let now = plane.now()
        let live = await plane.members.members(of: name).filter { $0.isLive(at: now, timeout: timeout) }
        let rollout = state?.current
        let pending = await reconciliation.pendingRestarts(run: name, revision: rollout?.revision ?? 0)
        var names = plan.sites.map(\.name)
        for site in Set(live.map(\.site)) where !names.contains(site) { names.append(site) }
        let sites = names.map { site in
            let here = live.filter { $0.site == site }
            let target = rollout?.revision ?? run.activeRevision
            return SiteRollout(site: site, members: here.count, acknowledged: here.filter { ($0.acknowledged ?? 0) >= target }.count,
                               active: here.filter { $0.activeRevision == target }.count, pendingRestarts: pending[site],
                               covered: rollout.map { RolloutMachine.covers($0, site: site) } ?? true)
        }
        return RolloutStatus(run: name, activeRevision: run.activeRevision, outerStep: await plane.currentStep(of: name),
                             paused: state?.paused ?? false, rollout: rollout, sites: sites, schedule: state?.schedule.entries ?? [])
    }

    func rolloutHistory(_ context: ServerContext) async throws -> Response {
        let name = try runName(context)
        _ = try context.requireReader(run: name)
        let run = try await plane.requireRun(name)
        let revisions = try await plane.store.revisions(of: name)
        let state = try await plane.rolloutState(of: name)
        var rollouts: [Int: Rollout] = [:]
        for rollout in (state?.history ?? []) + [state?.current].compactMap({ $0 }) { rollouts[rollout.revision] = rollout }
        var previous: TrainingRun?
        var entries: [HistoryEntry] = []
        for revision in revisions.sorted(by: { $0.number < $1.number }) {
            let current = try? JSONDecoder().decode(TrainingRun.self, from: Data(revision.canonical.utf8))
            var diff: SpecDiff?
            if let previous, let current { diff = SpecDiff(old: previous, new: current) }
            let rollout = rollouts[revision.number]
            entries.append(HistoryEntry(
                revision: revision.number, contentHash: revision.contentHash, appliedBy: revision.appliedBy, appliedAt: revision.appliedAt,
                summary: previous == nil ? "created" : diff?.summary ?? "",
                changes: diff?.changes.map { "\($0.kind.rawValue) \($0.path)" + ($0.kind == .changed ? ": \($0.old ?? "") -> \($0.new ?? "")" : "") } ?? [],
                outcome: rollout?.phase, reason: rollout?.reason, active: revision.number == run.activeRevision,
                fields: diff?.changes.map {
                    FieldChange(path: $0.path, kind: $0.kind.rawValue, old: $0.old, new: $0.new, changeClass: $0.changeClass.kind, site: $0.changeClass.site)
                } ?? []))
            previous = current ?? previous
        }
        return try JSONBody.response(entries)
    }

    /// `pause`, `resume` and `promote`: each changes the rollout state in one transaction.
    func rolloutVerb(_ context: ServerContext, _ verb: RolloutVerb) async throws -> Response {
        let principal = try context.requireOperator()
        let name = try runName(context)
        let run = try await plane.requireRun(name)
        guard let plan = try await plane.activePlan(of: run) else { throw APIError.notFound("run \(name) has no active revision") }
        let policy = await plane.rolloutPolicy(plan.run, name: name)
        let step = await plane.currentStep(of: name)
        let who = principal.name
        do {
            try await plane.updateRollout(run: name) { stored in
                var state = stored ?? RolloutState.initial(revision: run.activeRevision)
                let events: [String]
                switch verb {
                case .pause: events = RolloutMachine.pause(&state, by: who)
                case .resume: events = RolloutMachine.resume(&state, by: who, policy: policy, currentStep: step)
                case .promote: events = try RolloutMachine.promoteByHand(&state, by: who, policy: policy, currentStep: step)
                }
                return events.isEmpty ? nil : RolloutUpdate(state: state, events: events)
            }
        } catch let refusal as RolloutMachine.Refusal {
            throw APIError(.conflict, "no_rollout", refusal.description)
        }
        return try await rolloutStatus(context)
    }

    /// A new revision equal to an earlier one (by default the one the current rollout started from), rolled out the same way.
    func undo(_ request: Request, _ context: ServerContext) async throws -> Response {
        let principal = try context.requireOperator()
        let name = try runName(context)
        let run = try await plane.requireRun(name)
        let body = try await JSONBody.decode(UndoBody.self, from: request, context: context)
        let state = try await plane.rolloutState(of: name)
        let target: Int
        if let chosen = body.toRevision {
            target = chosen
        } else if let last = ((state?.history ?? []) + [state?.current].compactMap({ $0 })).last(where: { $0.revision == run.activeRevision }) {
            target = last.from
        } else {
            target = run.activeRevision - 1
        }
        guard target >= 1, let revision = try await plane.store.revision(of: name, number: target) else {
            throw APIError.notFound("run \(name) has no revision \(target) to go back to")
        }
        guard target != run.activeRevision else {
            throw APIError(.conflict, "no_change", "revision \(target) is the active revision already")
        }
        let applied = try await plane.apply(specText: revision.specText, checkRevision: nil, by: principal)
        guard case let .updated(outcome) = applied.outcome else {
            throw APIError(.conflict, "no_change", "revision \(target) has the active revision's content already")
        }
        _ = try await plane.store.appendEvent(run: name, kind: "Rollout",
                                              message: "undo by \(principal.name): revision \(outcome.number) restores revision \(target)",
                                              now: plane.now())
        return try JSONBody.response(ApplyResponse(run: name, revision: outcome.number, contentHash: outcome.contentHash,
                                                   outcome: .updated, warnings: applied.warnings,
                                                   rollout: await rolloutLine(run: name, revision: outcome.number)))
    }
}
