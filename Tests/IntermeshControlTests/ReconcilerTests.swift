import Foundation
import IntermeshAPI
import IntermeshPlan
import IntermeshSpec
import Testing
@testable import IntermeshControl

/// Reconciler scenarios as tables: given desired and observed state at `now`, the actions it returns.
@Suite struct ReconcilerTests {
    static let now = Date(timeIntervalSince1970: 1_000_000)

    static func plan(sites: String = "    - {name: alpha, replicas: 2}\n    - {name: beta, replicas: 1}\n", onExhausted: String = "quarantine",
                     belowMinReplicas: String = "wait", grace: String? = nil) -> Plan {
        let text = """
        apiVersion: intermesh/v1
        kind: TrainingRun
        metadata: {name: rec}
        spec:
          model: {kind: mlp, layers: 1, hiddenSize: 8, vocabSize: 256, sequenceLength: 8}
          data: {mix: [{name: prose, path: data/prose.txt, weight: 1}]}
          faultPolicy:
            heartbeatTimeout: 5s
            minReplicas: 2
            belowMinReplicas: \(belowMinReplicas)\(grace.map { "\n    disconnectGrace: \($0)" } ?? "")
            restart: {attempts: 3, interval: 2m, delay: 1s, backoff: 2, maxDelay: 10s, onExhausted: \(onExhausted)}
          sites:
        \(sites)
        """
        let loaded = SpecLoader().load(name: "r.yaml", text: text)
        return Planner.compile(loaded.validRun!)
    }

    static func member(_ slot: String, id: String? = nil, silent: TimeInterval = 1, leaving: Bool = false, incarnation: Int = 1) -> MemberRecord {
        MemberRecord(id: id ?? "m-\(slot)", site: String(slot.split(separator: "/")[0]), slot: slot, incarnation: incarnation,
                     lastHeartbeat: now.addingTimeInterval(-silent), leaving: leaving)
    }

    static let healthy = [member("alpha/0"), member("alpha/1"), member("beta/0")]
    static let launchedLongAgo = ["alpha/0": SlotRecord(launches: [now.addingTimeInterval(-600)]),
                                  "alpha/1": SlotRecord(launches: [now.addingTimeInterval(-600)]),
                                  "beta/0": SlotRecord(launches: [now.addingTimeInterval(-600)])]

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var plan: Plan?
        var members: [MemberRecord]
        var slots: [String: SlotRecord]
        var actions: [ReconcileAction]
        var degraded: Bool?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "in sync: nothing to do", plan: plan(), members: healthy, slots: launchedLongAgo, actions: [], degraded: false),
        Case(name: "first start launches every slot", plan: plan(), members: [], slots: [:],
             actions: [.launch(site: "alpha", slot: "alpha/0", replacing: nil), .launch(site: "alpha", slot: "alpha/1", replacing: nil), .launch(site: "beta", slot: "beta/0", replacing: nil)],
             degraded: true),
        Case(name: "a member lost to silence is evicted and its slot relaunched", plan: plan(),
             members: [member("alpha/0"), member("alpha/1", silent: 6), member("beta/0")], slots: launchedLongAgo,
             actions: [.evict(member: "m-alpha/1", reason: "lost: no heartbeat for 6s (timeout 5s)"), .launch(site: "alpha", slot: "alpha/1", replacing: "m-alpha/1")],
             degraded: false),
        Case(name: "a deathrattle evicts at once, before the timeout", plan: plan(),
             members: [member("alpha/0"), member("alpha/1", leaving: true), member("beta/0")], slots: launchedLongAgo,
             actions: [.evict(member: "m-alpha/1", reason: "left (deathrattle)"), .launch(site: "alpha", slot: "alpha/1", replacing: nil)],
             degraded: false),
        Case(name: "below minReplicas is Degraded", plan: plan(),
             members: [member("alpha/0"), member("alpha/1", silent: 30), member("beta/0", silent: 30)], slots: [
                 "alpha/0": SlotRecord(launches: [now]), "alpha/1": SlotRecord(launches: [now.addingTimeInterval(-0.5)]),
                 "beta/0": SlotRecord(launches: [now.addingTimeInterval(-0.5)]),
             ],
             actions: [.evict(member: "m-alpha/1", reason: "lost: no heartbeat for 30s (timeout 5s)"),
                       .evict(member: "m-beta/0", reason: "lost: no heartbeat for 30s (timeout 5s)")],
             degraded: true),
        Case(name: "restart backoff: the second restart waits delay x backoff", plan: plan(),
             members: [member("alpha/0"), member("beta/0")], slots: [
                 "alpha/1": SlotRecord(launches: [now.addingTimeInterval(-20), now.addingTimeInterval(-1.5)]),
             ],
             actions: [], degraded: false),
        Case(name: "past its backoff the slot is restarted", plan: plan(),
             members: [member("alpha/0"), member("beta/0")], slots: [
                 "alpha/1": SlotRecord(launches: [now.addingTimeInterval(-20), now.addingTimeInterval(-2.5)]),
             ],
             actions: [.launch(site: "alpha", slot: "alpha/1", replacing: nil)], degraded: false),
        Case(name: "a crash loop past its budget is quarantined", plan: plan(),
             members: [member("alpha/0"), member("beta/0")], slots: [
                 "alpha/1": SlotRecord(launches: (1...4).map { now.addingTimeInterval(-Double($0) * 10) }),
             ],
             actions: [.quarantine(slot: "alpha/1", reason: "crash-looping: 4 launches within 2m (budget: 3 restarts per 2m)")],
             degraded: false),
        Case(name: "or fails the run when the policy says so", plan: plan(onExhausted: "fail"),
             members: [member("alpha/0"), member("beta/0")], slots: [
                 "alpha/1": SlotRecord(launches: (1...4).map { now.addingTimeInterval(-Double($0) * 10) }),
             ],
             actions: [.failRun(reason: "alpha/1 crash-looping: 4 launches within 2m (budget: 3 restarts per 2m)")],
             degraded: false),
        Case(name: "a quarantined slot stays down", plan: plan(), members: [member("alpha/0"), member("beta/0")],
             slots: ["alpha/1": SlotRecord(launches: [], quarantined: true)], actions: [], degraded: false),
        Case(name: "a site removed from the spec is drained", plan: plan(sites: "    - {name: alpha, replicas: 2}\n"),
             members: healthy, slots: launchedLongAgo,
             actions: [.stop(site: "beta", member: "m-beta/0", reason: "slot beta/0 is no longer in the plan")], degraded: false),
        Case(name: "a site added is launched", plan: plan(sites: "    - {name: alpha, replicas: 2}\n    - {name: beta, replicas: 1}\n    - {name: gamma, replicas: 1}\n"),
             members: healthy, slots: launchedLongAgo, actions: [.launch(site: "gamma", slot: "gamma/0", replacing: nil)], degraded: false),
        Case(name: "a stopped run drains everything", plan: nil, members: healthy, slots: launchedLongAgo,
             actions: ["alpha/0", "alpha/1", "beta/0"].map { .stop(site: String($0.prefix(while: { $0 != "/" })), member: "m-\($0)", reason: "run stopped") },
             degraded: nil),
        Case(name: "within disconnectGrace a silent member keeps its slot: not evicted, nothing launched", plan: plan(grace: "30s"),
             members: [member("alpha/0"), member("alpha/1", silent: 20), member("beta/0")], slots: launchedLongAgo,
             actions: [], degraded: false),
        Case(name: "past disconnectGrace it is lost, and its slot relaunched replacing it", plan: plan(grace: "30s"),
             members: [member("alpha/0"), member("alpha/1", silent: 36), member("beta/0")], slots: launchedLongAgo,
             actions: [.evict(member: "m-alpha/1", reason: "lost: no heartbeat for 36s (timeout 5s, disconnectGrace 30s)"),
                       .launch(site: "alpha", slot: "alpha/1", replacing: "m-alpha/1")],
             degraded: false),
        Case(name: "a slot whose member was lost in an earlier pass still names it until it launches", plan: plan(),
             members: [member("alpha/0"), member("beta/0")],
             slots: launchedLongAgo.merging(["alpha/1": SlotRecord(launches: [now.addingTimeInterval(-600)], lostMember: "m-alpha/1")]) { $1 },
             actions: [.launch(site: "alpha", slot: "alpha/1", replacing: "m-alpha/1")], degraded: false),
        Case(name: "two incarnations of a slot: the older one is stopped", plan: plan(),
             members: healthy + [member("beta/0", id: "m-beta/0-new", incarnation: 2)], slots: launchedLongAgo,
             actions: [.stop(site: "beta", member: "m-beta/0", reason: "replaced by incarnation 2")], degraded: false),
    ]

    @Test(arguments: cases)
    func reconcile(_ scenario: Case) {
        let result = Reconciler.reconcile(ReconcileInput(generation: 3, plan: scenario.plan, members: scenario.members,
                                                         slots: scenario.slots, now: Self.now))
        #expect(result.actions == scenario.actions)
        let degraded = result.conditions.first { $0.type == "Degraded" }
        #expect(degraded?.status == scenario.degraded)
        #expect(result.conditions.allSatisfy { $0.observedGeneration == 3 })
    }

    @Test func requeuesAtTheNextDeadline() {
        let result = Reconciler.reconcile(ReconcileInput(generation: 1, plan: Self.plan(), members: [Self.member("alpha/0"), Self.member("beta/0")],
                                                         slots: ["alpha/1": SlotRecord(launches: [Self.now.addingTimeInterval(-20), Self.now.addingTimeInterval(-1.5)])],
                                                         now: Self.now))
        // The backoff of alpha/1 ends in 0.5 s, before any heartbeat deadline (4 s).
        #expect(abs((result.requeueAfter ?? 0) - 0.5) < 1e-6)
        #expect(abs((result.backoffEndsAfter ?? 0) - 0.5) < 1e-6)
        // Without a backoff only the heartbeat deadline remains, and heartbeats move it: no backoff wake.
        let steady = Reconciler.reconcile(ReconcileInput(generation: 1, plan: Self.plan(), members: Self.healthy,
                                                         slots: Self.launchedLongAgo, now: Self.now))
        #expect(steady.actions.isEmpty)
        #expect(abs((steady.requeueAfter ?? 0) - 4) < 1e-6)
        #expect(steady.backoffEndsAfter == nil)
    }

    /// A disconnected member is out of the live count (the run can be Degraded), is logged once per member, and
    /// the pass wakes when its grace ends.
    @Test func aDisconnectedMemberIsNotLiveAndWakesThePassAtTheEndOfItsGrace() {
        let result = Reconciler.reconcile(ReconcileInput(generation: 1, plan: Self.plan(grace: "30s"),
                                                         members: [Self.member("alpha/0"), Self.member("alpha/1", silent: 20), Self.member("beta/0", silent: 10)],
                                                         slots: Self.launchedLongAgo, now: Self.now))
        #expect(result.actions.isEmpty)
        let degraded = result.conditions.first { $0.type == "Degraded" }
        #expect(degraded?.status == true)
        #expect(degraded?.message == "1 live replicas, 2 disconnected, minReplicas 2")
        #expect(result.events == [.memberDisconnected(member: "m-alpha/1", slot: "alpha/1", silentFor: 20, grace: 30),
                                  .memberDisconnected(member: "m-beta/0", slot: "beta/0", silentFor: 10, grace: 30)])
        #expect(result.events.map(\.disconnectedMember) == ["m-alpha/1", "m-beta/0"])
        // alpha/1's grace ends in 15 s (5 + 30 - 20), beta/0's in 25 s.
        #expect(abs((result.backoffEndsAfter ?? 0) - 15) < 1e-6)
    }

    static func degraded(_ reason: String, since: TimeInterval) -> RunCondition {
        RunCondition(type: "Degraded", status: true, reason: reason, message: "", observedGeneration: 1,
                     lastTransitionTime: now.addingTimeInterval(-since))
    }

    static let enough = RunCondition(type: "Degraded", status: false, reason: "EnoughReplicas", message: "", observedGeneration: 1,
                                     lastTransitionTime: now.addingTimeInterval(-600))

    /// `faultPolicy.belowMinReplicas`: `stop` ends a run that lost its quorum for longer than the join timeout (60 s
    /// here); a run still starting up, or one whose policy is `wait`, keeps waiting.
    @Test(arguments: [
        ("starting up: below minReplicas since creation is not a loss", "stop", [RunCondition](), "WaitingForReplicas", 0.0, false),
        ("starting up, long after: still waiting", "stop", [degraded("WaitingForReplicas", since: 600)], "WaitingForReplicas", 600, false),
        ("just lost: the loss starts now", "stop", [enough], "BelowMinReplicas", 0, false),
        ("lost for less than the join timeout", "stop", [degraded("BelowMinReplicas", since: 59)], "BelowMinReplicas", 59, false),
        ("lost past the join timeout: stopped", "stop", [degraded("BelowMinReplicas", since: 61)], "BelowMinReplicas", 61, true),
        ("lost past the join timeout, policy wait: waits", "wait", [degraded("BelowMinReplicas", since: 61)], "BelowMinReplicas", 61, false),
    ])
    func belowMinReplicas(_ name: String, _ policy: String, _ before: [RunCondition], _ reason: String, _ since: TimeInterval, _ stops: Bool) {
        let result = Reconciler.reconcile(ReconcileInput(generation: 1, plan: Self.plan(belowMinReplicas: policy), members: [Self.member("alpha/0")],
                                                         slots: Self.launchedLongAgo, conditions: before, now: Self.now))
        let degraded = result.conditions.first { $0.type == "Degraded" }
        #expect(degraded?.status == true && degraded?.reason == reason, "\(name)")
        #expect(degraded?.lastTransitionTime == Self.now.addingTimeInterval(-since), "\(name)")
        #expect(result.actions.contains { if case .stopRun = $0 { true } else { false } } == stops, "\(name)")
        if policy == "stop", reason == "BelowMinReplicas", !stops {
            // The pass comes back when the join timeout ends, whatever heartbeats do.
            #expect(abs((result.backoffEndsAfter ?? 0) - (60 - since)) < 1e-6, "\(name)")
        }
    }

    /// A stopped run keeps the conditions it stopped with: `describe` still says why.
    @Test func aStoppedRunKeepsItsConditions() {
        let before = [Self.degraded("BelowMinReplicas", since: 61)]
        let result = Reconciler.reconcile(ReconcileInput(generation: 1, plan: nil, members: [], slots: [:], conditions: before, now: Self.now))
        #expect(result.conditions == before)
    }

    @Test func reconcileEventsRepeatingEachPassAreMarked() {
        let result = Reconciler.reconcile(ReconcileInput(generation: 1, plan: Self.plan(), members: [Self.member("alpha/0", leaving: true)],
                                                         now: Self.now))
        #expect(result.events.contains(.memberLeft(member: "m-alpha/0", slot: "alpha/0")))
        #expect(result.events.filter(\.repeatsEachPass) == [.launching(slot: "alpha/0"), .launching(slot: "alpha/1"), .launching(slot: "beta/0")])
        #expect(result.events.first?.message == "member m-alpha/0 of alpha/0 left")
    }
}
