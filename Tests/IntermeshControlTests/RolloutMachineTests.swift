import Foundation
import IntermeshAPI
import Testing
@testable import IntermeshControl

/// Rollouts as tables of member reports: activation at one step, the canary gate, relaunches, pause and resume.
@Suite struct RolloutMachineTests {
    static let now = Date(timeIntervalSince1970: 2_000_000)
    static let policy = RolloutPolicy(leadSteps: 2, canarySites: ["gamma"], afterSteps: 3, lossTolerance: 0.05, automatic: true)
    static let hot = ChangeNeeds(hot: true, siteLocalSites: [], restartSites: [], summary: "1 change: 1 hot")
    static let gammaLr = ChangeNeeds(hot: false, siteLocalSites: ["gamma"], restartSites: [], summary: "1 change: 1 site-local hot")
    static let betaEnv = ChangeNeeds(hot: false, siteLocalSites: [], restartSites: ["beta"], summary: "1 change: 1 restart")

    static func member(_ site: String, step: Int, ack: Int? = nil, active: Int? = nil, loss: Double? = 2.0) -> RolloutMember {
        RolloutMember(site: site, outerStep: step, acknowledged: ack, active: active, evalLoss: loss)
    }

    static func begin(_ needs: ChangeNeeds, at step: Int = 5, policy: RolloutPolicy = policy, paused: Bool = false) -> (RolloutState, [String]) {
        var state = RolloutState.initial(revision: 1)
        state.paused = paused
        let events = RolloutMachine.begin(&state, revision: 2, needs: needs, policy: policy, currentStep: step, appliedBy: "op", now: now)
        return (state, events)
    }

    @Test func hotChangeActivatesEverywhereAtOneStep() throws {
        let (begun, events) = Self.begin(Self.hot)
        var state = begun
        // Members are inside step 6; the first clean boundary is 6 + 2.
        #expect(state.current?.activationStep == 8)
        #expect(state.schedule.revision(forStep: 7, site: "alpha") == 1)
        #expect(state.schedule.revision(forStep: 8, site: "gamma") == 2)
        #expect(events.first?.contains("activates at outer step 8 on every site") == true)

        let acked = ["alpha", "beta", "gamma"].map { Self.member($0, step: 6, ack: 2, active: 1) }
        var outcome = RolloutMachine.advance(&state, members: acked, pendingRestarts: [:], policy: Self.policy, currentStep: 6, now: Self.now)
        #expect(state.current?.acknowledgedAt == Self.now)
        #expect(state.current?.phase == .activating)
        #expect(outcome.events.count == 1)

        let active = ["alpha", "beta", "gamma"].map { Self.member($0, step: 7, ack: 2, active: 2) }
        outcome = RolloutMachine.advance(&state, members: active, pendingRestarts: [:], policy: Self.policy, currentStep: 7, now: Self.now)
        #expect(state.current?.phase == .complete)
        #expect(state.history.last?.revision == 2)
    }

    @Test func aMemberThatHasNotSwitchedHoldsActivation() {
        var (state, _) = Self.begin(Self.hot)
        let members = [Self.member("alpha", step: 8, ack: 2, active: 2), Self.member("beta", step: 7, ack: 1, active: 1)]
        _ = RolloutMachine.advance(&state, members: members, pendingRestarts: [:], policy: Self.policy, currentStep: 8, now: Self.now)
        #expect(state.current?.phase == .activating)
        #expect(state.current?.acknowledgedAt == nil)
    }

    struct GateCase: Sendable, CustomTestStringConvertible {
        var name: String
        var canaryLoss: Double?
        var otherLoss: Double?
        var automatic = true
        var phase: Rollout.Phase
        var testDescription: String { name }
    }

    @Test(arguments: [
        GateCase(name: "within tolerance: promoted", canaryLoss: 2.05, otherLoss: 2.0, phase: .activating),
        GateCase(name: "better than the others: promoted", canaryLoss: 1.5, otherLoss: 2.0, phase: .activating),
        GateCase(name: "diverging: reverted", canaryLoss: 40, otherLoss: 2.0, phase: .reverted),
        GateCase(name: "just over tolerance: reverted", canaryLoss: 2.2, otherLoss: 2.0, phase: .reverted),
        GateCase(name: "not finite: reverted", canaryLoss: .infinity, otherLoss: 2.0, phase: .reverted),
        GateCase(name: "manual promotion waits", canaryLoss: 2.0, otherLoss: 2.0, automatic: false, phase: .awaitingPromotion),
    ])
    func canaryGate(_ test: GateCase) throws {
        var policy = Self.policy
        policy.automatic = test.automatic
        var (state, _) = Self.begin(Self.gammaLr, policy: policy)
        #expect(state.current?.strategy == .canary)
        // Canaries train in shadow by default: their pseudo-gradients count 0 until promoted.
        #expect(state.schedule.weight(forStep: 8, site: "gamma") == 0)
        #expect(state.schedule.revision(forStep: 8, site: "gamma") == 2)
        #expect(state.schedule.revision(forStep: 8, site: "alpha") == 1)
        // Canary active at step 8; the gate looks when the canaries completed step 8 + 3 - 1.
        var members = [Self.member("alpha", step: 8, ack: 1, active: 1), Self.member("gamma", step: 8, ack: 2, active: 2)]
        _ = RolloutMachine.advance(&state, members: members, pendingRestarts: [:], policy: policy, currentStep: 8, now: Self.now)
        #expect(state.current?.phase == .canary)
        #expect(state.current?.gateStep == 10)
        members = [Self.member("alpha", step: 10, ack: 1, active: 1, loss: test.otherLoss),
                   Self.member("gamma", step: 9, ack: 2, active: 2, loss: test.canaryLoss)]
        _ = RolloutMachine.advance(&state, members: members, pendingRestarts: [:], policy: policy, currentStep: 10, now: Self.now)
        #expect(state.current?.phase == .canary, "not before every canary reached the gate")
        members[1].outerStep = 10
        let outcome = RolloutMachine.advance(&state, members: members, pendingRestarts: [:], policy: policy, currentStep: 10, now: Self.now)
        #expect(state.current?.phase == test.phase)
        switch test.phase {
        case .reverted:
            #expect(outcome.activeRevision == 1)
            #expect(state.schedule.revision(forStep: 13, site: "gamma") == 1)
            #expect(outcome.events.last?.contains("reverted") == true)
        case .activating:
            #expect(state.current?.promoted == true)
            #expect(state.schedule.revision(forStep: 13, site: "alpha") == 2)
            #expect(state.schedule.revision(forStep: 12, site: "alpha") == 1)
            #expect(state.schedule.weight(forStep: 13, site: "gamma") == 1)
        default:
            #expect(state.schedule.revision(forStep: 13, site: "alpha") == 1)
        }
    }

    @Test func canariesThatStopTrainingAreReverted() {
        var (state, _) = Self.begin(Self.gammaLr)
        _ = RolloutMachine.advance(&state, members: [Self.member("alpha", step: 8, active: 1), Self.member("gamma", step: 8, ack: 2, active: 2)],
                                   pendingRestarts: [:], policy: Self.policy, currentStep: 8, now: Self.now)
        let alone = [Self.member("alpha", step: 13, active: 1)]
        let outcome = RolloutMachine.advance(&state, members: alone, pendingRestarts: [:], policy: Self.policy, currentStep: 13, now: Self.now)
        #expect(state.current?.phase == .reverted)
        #expect(state.current?.reason == "no canary member is training it")
        #expect(outcome.activeRevision == 1)
    }

    @Test func siteLocalChangeOutsideTheCanariesRollsEverywhere() {
        let (state, _) = Self.begin(ChangeNeeds(hot: false, siteLocalSites: ["alpha"], restartSites: [], summary: ""))
        #expect(state.current?.strategy == .hot)
    }

    @Test func restartCompletesWhenTheSitesAgentHasRelaunchedEverything() {
        var (state, _) = Self.begin(Self.betaEnv)
        #expect(state.current?.strategy == .restart)
        let active = [Self.member("alpha", step: 8, ack: 2, active: 2), Self.member("beta", step: 8, ack: 2, active: 2)]
        _ = RolloutMachine.advance(&state, members: active, pendingRestarts: ["beta": 1], policy: Self.policy, currentStep: 8, now: Self.now)
        #expect(state.current?.phase == .restarting)
        _ = RolloutMachine.advance(&state, members: active, pendingRestarts: ["beta": 1], policy: Self.policy, currentStep: 9, now: Self.now)
        #expect(state.current?.phase == .restarting)
        _ = RolloutMachine.advance(&state, members: active, pendingRestarts: ["beta": 0], policy: Self.policy, currentStep: 9, now: Self.now)
        #expect(state.current?.phase == .complete)
    }

    @Test func pausedRolloutsWaitForResume() {
        var (state, events) = Self.begin(Self.hot, paused: true)
        #expect(state.current?.phase == .pending)
        #expect(state.schedule.entries.count == 1)
        #expect(events == ["revision 2 waits: rollouts are paused"])
        let resumed = RolloutMachine.resume(&state, by: "op", policy: Self.policy, currentStep: 9)
        #expect(resumed.count == 2)
        #expect(state.current?.activationStep == 12)
        #expect(state.schedule.revision(forStep: 12, site: "alpha") == 2)
    }

    @Test func pauseHoldsTheCanaryGate() {
        var (state, _) = Self.begin(Self.gammaLr)
        _ = RolloutMachine.advance(&state, members: [Self.member("alpha", step: 8, active: 1), Self.member("gamma", step: 8, ack: 2, active: 2)],
                                   pendingRestarts: [:], policy: Self.policy, currentStep: 8, now: Self.now)
        _ = RolloutMachine.pause(&state, by: "op")
        let members = [Self.member("alpha", step: 10, active: 1, loss: 2), Self.member("gamma", step: 10, ack: 2, active: 2, loss: 50)]
        _ = RolloutMachine.advance(&state, members: members, pendingRestarts: [:], policy: Self.policy, currentStep: 10, now: Self.now)
        #expect(state.current?.phase == .canary)
    }

    @Test func promoteByHandOnlyForACanary() throws {
        var (state, _) = Self.begin(Self.gammaLr)
        let events = try RolloutMachine.promoteByHand(&state, by: "op", policy: Self.policy, currentStep: 6)
        #expect(events.first?.contains("promoted") == true)
        #expect(state.current?.promoted == true)
        var (hot, _) = Self.begin(Self.hot)
        #expect(throws: RolloutMachine.Refusal.self) { try RolloutMachine.promoteByHand(&hot, by: "op", policy: Self.policy, currentStep: 6) }
    }

    @Test func aNewRevisionSupersedesTheUnfinishedOne() {
        var (state, _) = Self.begin(Self.gammaLr)
        let events = RolloutMachine.begin(&state, revision: 3, needs: Self.hot, policy: Self.policy, currentStep: 6, appliedBy: "op", now: Self.now)
        #expect(events.first == "rollout of revision 2 superseded by revision 3")
        #expect(state.history.last?.phase == .superseded)
        #expect(state.current?.revision == 3)
        #expect(state.current?.from == 1)
        // Never before the canary's announced step.
        #expect(state.current?.activationStep == 9)
    }
}
