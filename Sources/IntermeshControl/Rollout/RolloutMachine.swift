import Foundation
import IntermeshAPI
import IntermeshSpec

/// What the rollout machine reads of a live member.
public struct RolloutMember: Sendable, Equatable {
    public var site: String
    public var outerStep: Int
    /// The newest revision the member has loaded and will switch to at its step.
    public var acknowledged: Int?
    /// The revision it trains with now.
    public var active: Int?
    /// Evaluation loss of its local parameters at its last outer step.
    public var evalLoss: Double?

    public init(site: String, outerStep: Int, acknowledged: Int?, active: Int?, evalLoss: Double?) {
        self.site = site
        self.outerStep = outerStep
        self.acknowledged = acknowledged
        self.active = active
        self.evalLoss = evalLoss
    }
}

/// The spec's rollout settings.
public struct RolloutPolicy: Sendable, Equatable {
    public var leadSteps: Int
    public var canarySites: [String]
    public var afterSteps: Int
    public var lossTolerance: Double
    public var automatic: Bool
    public var canaryWeight: Double

    public init(leadSteps: Int, canarySites: [String], afterSteps: Int, lossTolerance: Double, automatic: Bool, canaryWeight: Double = 0) {
        self.leadSteps = leadSteps
        self.canarySites = canarySites
        self.afterSteps = afterSteps
        self.lossTolerance = lossTolerance
        self.automatic = automatic
        self.canaryWeight = canaryWeight
    }

    public init(_ spec: RolloutSpec) {
        self.init(leadSteps: spec.leadSteps, canarySites: spec.canarySites, afterSteps: spec.promotion.afterSteps,
                  lossTolerance: spec.promotion.lossTolerance, automatic: spec.promotion.automatic, canaryWeight: spec.promotion.canaryWeight)
    }
}

/// What a change needs, from its spec diff.
public struct ChangeNeeds: Sendable, Equatable {
    public var hot: Bool
    public var siteLocalSites: Set<String>
    /// `*` for every site.
    public var restartSites: Set<String>
    public var summary: String

    public init(hot: Bool, siteLocalSites: Set<String>, restartSites: Set<String>, summary: String) {
        self.hot = hot
        self.siteLocalSites = siteLocalSites
        self.restartSites = restartSites
        self.summary = summary
    }

    /// From the spec diff, with the sites to relaunch from the plans' launch signatures (`Plan.relaunches`): the
    /// same source the agents relaunch by.
    public init(_ diff: SpecDiff, relaunching sites: Set<String>) {
        self.init(hot: diff.hasHot, siteLocalSites: diff.siteLocalSites, restartSites: sites, summary: diff.summary)
    }
}

/// The pure transitions of rollouts: begin one for a new revision, advance it on what members report, and the
/// operator's promote, pause and resume. Each returns the events to record.
public enum RolloutMachine {
    /// The revision every site not in a canary trains with from the schedule's last entry on.
    public static func stable(_ state: RolloutState) -> Int? {
        state.schedule.entries.last { $0.sites == nil }?.revision
    }

    /// Plans the rollout of a new revision; `currentStep` is the newest outer step a member completed.
    public static func begin(_ state: inout RolloutState, revision: Int, needs: ChangeNeeds, policy: RolloutPolicy, currentStep: Int,
                             appliedBy: String, now: Date) -> [String] {
        var events: [String] = []
        if var current = state.current, !current.phase.finished {
            current.phase = .superseded
            current.reason = "revision \(revision) was applied"
            current.finishedAt = now
            state.archive(current)
            events.append("rollout of revision \(current.revision) superseded by revision \(revision)")
        }
        let from = stable(state) ?? revision - 1
        let strategy: Rollout.Strategy
        var canaries: [String] = []
        if !needs.restartSites.isEmpty {
            strategy = .restart
        } else {
            canaries = policy.canarySites.filter { needs.siteLocalSites.contains($0) }
            strategy = !needs.hot && !canaries.isEmpty ? .canary : .hot
            if strategy == .hot { canaries = [] }
        }
        var rollout = Rollout(revision: revision, from: from, strategy: strategy, canarySites: canaries,
                              restartSites: needs.restartSites.sorted(), summary: needs.summary, appliedBy: appliedBy, startedAt: now)
        if state.paused {
            events.append("revision \(revision) waits: rollouts are paused")
            state.current = rollout
            return events
        }
        events.append(schedule(&rollout, in: &state, policy: policy, currentStep: currentStep))
        state.current = rollout
        return events
    }

    static func schedule(_ rollout: inout Rollout, in state: inout RolloutState, policy: RolloutPolicy, currentStep: Int) -> String {
        // Members are inside step currentStep + 1 already: the first step that can switch cleanly is the one after.
        let step = state.schedule.earliest(currentStep + 1 + policy.leadSteps)
        let canary = rollout.strategy == .canary
        state.schedule.append(.init(revision: rollout.revision, fromStep: step, sites: canary ? rollout.canarySites : nil,
                                    weight: canary && policy.canaryWeight != 1 ? policy.canaryWeight : nil),
                              oldestNeeded: currentStep - 2)
        rollout.phase = .activating
        rollout.activationStep = step
        let what = rollout.strategy == .canary ? "on canary site\(rollout.canarySites.count == 1 ? "" : "s") \(rollout.canarySites.joined(separator: ", "))"
            : rollout.strategy == .restart ? "with relaunches at \(rollout.restartSites.map { $0 == "*" ? "every site" : $0 }.joined(separator: ", "))"
            : "on every site"
        return "revision \(rollout.revision) activates at outer step \(step) \(what) (\(rollout.summary))"
    }

    /// Whether the rollout's revision reaches `site`: everywhere, except a canary before its promotion.
    public static func covers(_ rollout: Rollout, site: String) -> Bool {
        rollout.strategy != .canary || rollout.promoted || rollout.canarySites.contains(site)
    }

    public struct Outcome: Sendable, Equatable {
        public var events: [String] = []
        /// Set when the run's active revision changes (a revert).
        public var activeRevision: Int?
    }

    /// Moves the current rollout on: acknowledgement, activation, the canary gate, the end of relaunches.
    /// `pendingRestarts` holds, per site, relaunches its agent still has to do for this revision (nil: not reported yet).
    public static func advance(_ state: inout RolloutState, members: [RolloutMember], pendingRestarts: [String: Int],
                               policy: RolloutPolicy, currentStep: Int, now: Date) -> Outcome {
        var outcome = Outcome()
        guard var rollout = state.current, !rollout.phase.finished, rollout.phase != .pending else { return outcome }
        let covered = members.filter { covers(rollout, site: $0.site) }
        if rollout.acknowledgedAt == nil, !covered.isEmpty, covered.allSatisfy({ ($0.acknowledged ?? 0) >= rollout.revision }) {
            rollout.acknowledgedAt = now
            outcome.events.append("revision \(rollout.revision) acknowledged by all \(covered.count) members it reaches")
        }
        defer { state.current = rollout }
        if state.paused { return outcome }
        switch rollout.phase {
        case .activating:
            guard !covered.isEmpty, covered.allSatisfy({ ($0.active ?? 0) >= rollout.revision }) else { return outcome }
            if rollout.activatedAt == nil { rollout.activatedAt = now }
            outcome.events.append("revision \(rollout.revision) is active on all \(covered.count) members it reaches")
            if rollout.strategy == .canary && !rollout.promoted {
                rollout.phase = .canary
                rollout.gateStep = (rollout.activationStep ?? currentStep) + policy.afterSteps - 1
            } else if rollout.strategy == .restart {
                rollout.phase = .restarting
            } else {
                finish(&rollout, .complete, reason: nil, in: &state, now: now)
            }
        case .restarting:
            let sites = rollout.restartSites.contains("*") ? Set(pendingRestarts.keys) : Set(rollout.restartSites)
            guard sites.allSatisfy({ pendingRestarts[$0] == 0 }) else { return outcome }
            finish(&rollout, .complete, reason: "every replica of \(rollout.restartSites.map { $0 == "*" ? "every site" : $0 }.joined(separator: ", ")) relaunched",
                   in: &state, now: now)
            outcome.events.append("rollout of revision \(rollout.revision) complete: \(rollout.reason ?? "")")
        case .canary:
            gate(&rollout, &state, &outcome, members: members, policy: policy, currentStep: currentStep, now: now)
        default:
            break
        }
        return outcome
    }

    static func gate(_ rollout: inout Rollout, _ state: inout RolloutState, _ outcome: inout Outcome, members: [RolloutMember],
                     policy: RolloutPolicy, currentStep: Int, now: Date) {
        guard let gateStep = rollout.gateStep else { return }
        let canaries = members.filter { rollout.canarySites.contains($0.site) && $0.active == rollout.revision }
        let others = members.filter { !rollout.canarySites.contains($0.site) }
        if canaries.isEmpty {
            // Canaries that crashed or never came back are a verdict too, once the others are well past the gate.
            if currentStep >= gateStep + policy.afterSteps {
                revert(&rollout, &state, &outcome, reason: "no canary member is training it", policy: policy, currentStep: currentStep, now: now)
            }
            return
        }
        guard canaries.allSatisfy({ $0.outerStep >= gateStep }) else { return }
        let canaryLoss = mean(canaries.compactMap(\.evalLoss))
        let otherLoss = mean(others.compactMap(\.evalLoss))
        guard let canaryLoss, canaryLoss.isFinite else {
            revert(&rollout, &state, &outcome, reason: "the canaries' evaluation loss is not finite", policy: policy, currentStep: currentStep, now: now)
            return
        }
        guard let otherLoss, otherLoss > 0 else {
            pass(&rollout, &state, &outcome, reason: "no other site to compare with", policy: policy, currentStep: currentStep, now: now)
            return
        }
        let excess = canaryLoss / otherLoss - 1
        let figures = String(format: "canary eval loss %.3f against %.3f elsewhere (%+.1f%%, tolerance %.1f%%)",
                             canaryLoss, otherLoss, excess * 100, policy.lossTolerance * 100)
        if excess > policy.lossTolerance {
            revert(&rollout, &state, &outcome, reason: figures, policy: policy, currentStep: currentStep, now: now)
        } else {
            pass(&rollout, &state, &outcome, reason: figures, policy: policy, currentStep: currentStep, now: now)
        }
    }

    static func pass(_ rollout: inout Rollout, _ state: inout RolloutState, _ outcome: inout Outcome, reason: String, policy: RolloutPolicy,
                     currentStep: Int, now: Date) {
        rollout.reason = reason
        if policy.automatic {
            outcome.events.append("canary of revision \(rollout.revision) passed: \(reason)")
            outcome.events.append(promote(&rollout, &state, policy: policy, currentStep: currentStep))
        } else {
            rollout.phase = .awaitingPromotion
            outcome.events.append("canary of revision \(rollout.revision) passed (\(reason)); waiting for `rollout promote`")
        }
    }

    static func promote(_ rollout: inout Rollout, _ state: inout RolloutState, policy: RolloutPolicy, currentStep: Int) -> String {
        let step = state.schedule.earliest(currentStep + 1 + policy.leadSteps)
        state.schedule.append(.init(revision: rollout.revision, fromStep: step), oldestNeeded: currentStep - 2)
        rollout.phase = .activating
        rollout.promoted = true
        rollout.activationStep = step
        rollout.activatedAt = nil
        return "revision \(rollout.revision) promoted: active on every site from outer step \(step)"
    }

    static func revert(_ rollout: inout Rollout, _ state: inout RolloutState, _ outcome: inout Outcome, reason: String, policy: RolloutPolicy,
                       currentStep: Int, now: Date) {
        let step = state.schedule.earliest(currentStep + 1 + policy.leadSteps)
        state.schedule.append(.init(revision: rollout.from, fromStep: step, sites: rollout.canarySites), oldestNeeded: currentStep - 2)
        finish(&rollout, .reverted, reason: reason, in: &state, now: now)
        outcome.activeRevision = rollout.from
        outcome.events.append("canary of revision \(rollout.revision) reverted: \(reason); \(rollout.canarySites.joined(separator: ", ")) back on revision \(rollout.from) from outer step \(step)")
    }

    static func finish(_ rollout: inout Rollout, _ phase: Rollout.Phase, reason: String?, in state: inout RolloutState, now: Date) {
        rollout.phase = phase
        if let reason { rollout.reason = reason }
        rollout.finishedAt = now
        state.archive(rollout)
    }

    static func mean(_ values: [Double]) -> Double? {
        values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }

    // MARK: - The operator's verbs

    public enum Refusal: Error, Equatable, CustomStringConvertible {
        case nothingToPromote(String)

        public var description: String {
            switch self {
            case let .nothingToPromote(why): return why
            }
        }
    }

    /// `rollout promote`: a canary goes to every site now, before or instead of its gate.
    public static func promoteByHand(_ state: inout RolloutState, by who: String, policy: RolloutPolicy, currentStep: Int) throws -> [String] {
        guard var rollout = state.current, rollout.strategy == .canary,
              !rollout.promoted, rollout.phase == .canary || rollout.phase == .awaitingPromotion || rollout.phase == .activating else {
            throw Refusal.nothingToPromote("no canary rollout is waiting to be promoted")
        }
        rollout.reason = "promoted by \(who)"
        let event = promote(&rollout, &state, policy: policy, currentStep: currentStep)
        state.current = rollout
        return [event + " (by \(who))"]
    }

    public static func pause(_ state: inout RolloutState, by who: String) -> [String] {
        guard !state.paused else { return [] }
        state.paused = true
        return ["rollouts paused by \(who)"]
    }

    public static func resume(_ state: inout RolloutState, by who: String, policy: RolloutPolicy, currentStep: Int) -> [String] {
        guard state.paused else { return [] }
        state.paused = false
        var events = ["rollouts resumed by \(who)"]
        if var rollout = state.current, rollout.phase == .pending {
            events.append(schedule(&rollout, in: &state, policy: policy, currentStep: currentStep))
            state.current = rollout
        }
        return events
    }
}
