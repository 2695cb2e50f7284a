import Foundation
import IntermeshAPI
import IntermeshClient
import IntermeshControl
import Testing

/// Mid-run changes on a real `intermesh up`: hot changes switch on every replica at one outer step, undo
/// restores them, immutable changes are refused, canaries are promoted or reverted, and restart-class
/// changes relaunch one replica at a time.
@Suite(.serialized) struct RolloutTests {
    static let sites = ["alpha", "beta", "gamma"]
    static let gamma = "    - name: gamma\n      region: local\n      replicas: 1\n"

    /// The revision every replica logged per outer step; fails if a step mixed revisions within `sites`.
    static func revisions(_ up: UpProcess, sites: [String] = sites) -> [Int: Int] {
        var byStep: [Int: Set<Int>] = [:]
        for site in sites {
            for event in up.outerEvents(site: site) {
                if let step = event["outer_step"] as? Int, let revision = event["revision"] as? Int { byStep[step, default: []].insert(revision) }
            }
        }
        for (step, seen) in byStep { #expect(seen.count == 1, "outer step \(step) mixed revisions \(seen.sorted())") }
        return byStep.compactMapValues(\.first)
    }

    /// The first outer step each site trained with `revision`.
    static func firstStep(_ up: UpProcess, revision: Int, sites: [String] = sites) -> [String: Int] {
        var out: [String: Int] = [:]
        for site in sites {
            out[site] = up.outerEvents(site: site).first { $0["revision"] as? Int == revision }?["outer_step"] as? Int
        }
        return out
    }

    static func status(_ up: UpProcess) async throws -> RolloutStatus {
        try await up.client().get("/v1/runs/local-demo/rollout")
    }

    static func reached(_ up: UpProcess, revision: Int, steps: Int, sites: [String] = sites) -> Bool {
        sites.allSatisfy { site in up.outerEvents(site: site).filter { $0["revision"] as? Int == revision }.count >= steps }
    }

    @Test func hotChangesSwitchAtOneStepAndUndoRestoresThem() async throws {
        let up = UpProcess(port: 7746)
        defer { up.cleanUp() }
        try up.up("specs/local.yaml")
        try await up.wait("3 replicas at outer step 3", timeout: 120) { try await up.members("local-demo").filter { $0.outerStep >= 3 }.count == 3 }

        let changed = try localSpec(replacing: [
            ("lr: 0.7", "lr: 0.5"), ("innerSteps: 50", "innerSteps: 25"),
            ("path: data/prose.txt\n        weight: 0.4", "path: data/prose.txt\n        weight: 0.05"),
            ("path: data/arithmetic.txt\n        weight: 0.3", "path: data/arithmetic.txt\n        weight: 0.65"),
            ("heartbeatInterval: 1s", "heartbeatInterval: 2s"), ("heartbeatTimeout: 5s", "heartbeatTimeout: 8s"),
        ])
        let (differs, diffOutput) = try up.command(["diff", "-f", changed])
        #expect(differs == 1, "\(diffOutput)")
        #expect(diffOutput.contains("~ spec.training.outerOptimizer.lr") && diffOutput.contains("0.7 -> 0.5  [hot]"), "\(diffOutput)")
        #expect(diffOutput.contains("6 changes: 6 hot") && !diffOutput.contains("relaunches"), "\(diffOutput)")
        let (dry, _) = try up.command(["apply", "--dry-run", "-f", changed])
        #expect(dry == 1)
        let revisionsBefore: [RevisionSummary] = try await up.client().get("/v1/runs/local-demo/revisions")
        #expect(revisionsBefore.count == 1, "a dry run applies nothing")

        let (applied, applyOutput) = try up.command(["apply", "-f", changed])
        #expect(applied == 0 && applyOutput.contains("rollout hot: activates at outer step"), "\(applyOutput)")
        try await up.wait("6 outer steps on revision 2 everywhere", timeout: 180) { Self.reached(up, revision: 2, steps: 6) }

        let status = try await Self.status(up)
        let activation = try #require(status.rollout?.activationStep)
        #expect(status.rollout?.phase == .complete)
        #expect(status.rollout?.acknowledgedAt != nil)
        // Every replica switched at the announced step, and no outer step mixed revisions.
        #expect(Self.firstStep(up, revision: 2) == ["alpha": activation, "beta": activation, "gamma": activation])
        let byStep = Self.revisions(up)
        #expect(byStep.filter { $0.key < activation }.values.allSatisfy { $0 == 1 })
        for site in Self.sites {
            let switched = try #require(up.log(site: site).first { $0["event"] as? String == "revision" })
            #expect(switched["outer_step"] as? Int == activation)
            let changes = try #require(switched["changes"] as? [String: String])
            #expect(changes["outer_lr"] == "0.7 -> 0.5" && changes["inner_steps"] == "50 -> 25", "\(changes)")
            // The fault policy reaches the running engine at the same step: it beats every 2 s and waits 8 s on a peer.
            #expect(changes["heartbeat_interval"] == "1.0 -> 2.0" && changes["sync_timeout"] == "5.0 -> 8.0", "\(changes)")
            // H = 25 from the activation step on.
            let after = up.outerEvents(site: site).filter { ($0["outer_step"] as? Int ?? 0) >= activation }.compactMap { $0["inner_step"] as? Int }
            #expect(zip(after, after.dropFirst()).allSatisfy { $1 - $0 == 25 }, "\(site): \(after)")
        }
        // Prose falls to 5% of the mix: its evaluation loss stops falling and rises.
        let alpha = up.outerEvents(site: "alpha")
        func prose(_ step: Int) -> Double? {
            (alpha.first { $0["outer_step"] as? Int == step }?["eval"] as? [String: Double])?["prose"]
        }
        let before = try #require(prose(activation - 1))
        let later = (activation + 2...activation + 5).compactMap(prose)
        #expect(later.count == 4 && later.reduce(0, +) / 4 > before, "prose eval loss \(before) before, \(later) after")

        // Undo: a new revision equal to revision 1, rolled out the same way.
        let (undone, undoOutput) = try up.command(["rollout", "undo", "local-demo"])
        #expect(undone == 0 && undoOutput.contains("updated to revision 3"), "\(undoOutput)")
        try await up.wait("2 outer steps on revision 3 everywhere", timeout: 180) { Self.reached(up, revision: 3, steps: 2) }
        let undoStep = try #require(try await Self.status(up).rollout?.activationStep)
        #expect(Self.firstStep(up, revision: 3) == ["alpha": undoStep, "beta": undoStep, "gamma": undoStep])
        _ = Self.revisions(up)
        let back = try #require(up.log(site: "beta").last { $0["event"] as? String == "revision" }?["changes"] as? [String: String])
        #expect(back["outer_lr"] == "0.5 -> 0.7" && back["inner_steps"] == "25 -> 50", "\(back)")

        // A changed architecture is refused and changes nothing.
        let wider = try localSpec(replacing: [("hiddenSize: 256", "hiddenSize: 128")])
        let (refused, refusal) = try up.command(["apply", "-f", wider])
        #expect(refused == 1)
        #expect(refusal.contains("spec.model.hiddenSize") && refusal.contains("cannot change within a run"), "\(refusal)")
        let revisionsAfter: [RevisionSummary] = try await up.client().get("/v1/runs/local-demo/revisions")
        #expect(revisionsAfter.count == 3)
        #expect(try await Self.status(up).activeRevision == 3)

        let (_, history) = try up.command(["rollout", "history", "local-demo"])
        #expect(history.contains("6 changes: 6 hot") && history.contains("3*"), "\(history)")
        #expect(try up.interrupt() == 0)
    }

    @Test func aDivergingCanaryIsRevertedAndASaneOneIsPromoted() async throws {
        let up = UpProcess(port: 7747)
        defer { up.cleanUp() }
        let promotion = ("    canarySites: [gamma]\n", "    canarySites: [gamma]\n    promotion:\n      afterSteps: 2\n      lossTolerance: 0.25\n")
        let base = try localSpec(replacing: [promotion])
        try up.up(base)
        try await up.wait("3 replicas at outer step 3", timeout: 120) { try await up.members("local-demo").filter { $0.outerStep >= 3 }.count == 3 }

        let sane = try localSpec(replacing: [promotion, (Self.gamma, Self.gamma + "      innerLr: 2.5e-3\n")])
        let (applied, output) = try up.command(["apply", "-f", sane])
        #expect(applied == 0, "\(output)")
        try await up.wait("the sane canary promoted and active everywhere", timeout: 180) {
            let status = try await Self.status(up)
            return status.rollout?.revision == 2 && status.rollout?.phase == .complete
        }
        let promoted = try await Self.status(up)
        #expect(promoted.rollout?.promoted == true)
        let canaryStart = try #require(Self.firstStep(up, revision: 2, sites: ["gamma"])["gamma"])
        let promotedAt = try #require(promoted.rollout?.activationStep)
        #expect(canaryStart < promotedAt)
        try await up.wait("alpha and beta log a step on revision 2", timeout: 60) { Self.reached(up, revision: 2, steps: 1, sites: ["alpha", "beta"]) }
        // The canary ran alone first; then the others switched at one step.
        #expect(Self.firstStep(up, revision: 2, sites: ["alpha", "beta"]) == ["alpha": promotedAt, "beta": promotedAt])
        #expect(promoted.activeRevision == 2)

        let diverging = try localSpec(replacing: [promotion, (Self.gamma, Self.gamma + "      innerLr: 0.25\n")])
        let (again, againOutput) = try up.command(["apply", "-f", diverging])
        #expect(again == 0, "\(againOutput)")
        try await up.wait("the diverging canary reverted", timeout: 180) { try await Self.status(up).rollout?.phase == .reverted }
        let reverted = try await Self.status(up)
        #expect(reverted.rollout?.revision == 3)
        #expect(reverted.rollout?.reason?.contains("canary eval loss") == true, "\(reverted.rollout?.reason ?? "")")
        #expect(reverted.activeRevision == 2, "the run is back on the promoted revision")
        // Only gamma ever trained with revision 3, and it goes back to revision 2.
        #expect(Self.firstStep(up, revision: 3, sites: ["alpha", "beta"]).values.isEmpty)
        // It trained in shadow (weight 0): the run's model was not harmed while it diverged.
        let divergedAt = try #require(Self.firstStep(up, revision: 3, sites: ["gamma"])["gamma"])
        func meanEval(_ event: [String: Any]) -> Double {
            let eval = event["eval"] as? [String: Double] ?? [:]
            return eval.values.reduce(0, +) / Double(max(1, eval.count))
        }
        let alpha = up.outerEvents(site: "alpha")
        let before = try #require(alpha.last { ($0["outer_step"] as? Int ?? 0) < divergedAt }.map(meanEval))
        let during = alpha.filter { ($0["outer_step"] as? Int ?? 0) >= divergedAt }.map(meanEval)
        #expect(!during.isEmpty && during.allSatisfy { $0 < before * 1.2 }, "alpha's eval loss \(before) before, \(during) while gamma diverged")
        try await up.wait("gamma back on revision 2", timeout: 120) {
            let gamma = up.outerEvents(site: "gamma")
            let last3 = gamma.lastIndex { $0["revision"] as? Int == 3 } ?? -1
            return last3 >= 0 && gamma[(last3 + 1)...].contains { $0["revision"] as? Int == 2 }
        }
        let events: [EventRecord] = try await up.client().get("/v1/runs/local-demo/events?limit=1000")
        let messages = events.map(\.message)
        #expect(messages.contains { $0.contains("canary of revision 2 passed") })
        #expect(messages.contains { $0.contains("canary of revision 3 reverted") })
        #expect(try up.interrupt() == 0)
    }

    @Test func aRestartClassChangeRelaunchesOneReplicaAtATime() async throws {
        let up = UpProcess(port: 7748)
        defer { up.cleanUp() }
        try up.up("specs/local.yaml")
        try await up.wait("3 replicas at outer step 2", timeout: 120) { try await up.members("local-demo").filter { $0.outerStep >= 2 }.count == 3 }
        let alphaStarts = up.log(site: "alpha").filter { $0["event"] as? String == "start" }.count
        let changed = try localSpec(replacing: [("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: \"1\"\n", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: \"1\"\n        OMPI_MCA_btl: self,tcp\n")])
        let (_, diff) = try up.command(["diff", "-f", changed])
        #expect(diff.contains("[restart of site beta]"), "\(diff)")
        let (applied, output) = try up.command(["apply", "-f", changed])
        #expect(applied == 0, "\(output)")
        try await up.wait("the restart rollout complete", timeout: 180) { try await Self.status(up).rollout?.phase == .complete }
        // The rollout is complete once the agent has relaunched every changed replica; the new incarnation then
        // recovers from a live donor and trains on.
        try up.wait("beta's new incarnation recovered and trained an outer step", timeout: 120) {
            let events = up.log(site: "beta").compactMap { $0["event"] as? String }
            return events.lastIndex(of: "recovered").map { events[$0...].contains("outer") } ?? false
        }
        let beta = up.log(site: "beta")
        #expect(beta.filter { $0["event"] as? String == "start" }.count == 2)
        #expect(up.log(site: "alpha").filter { $0["event"] as? String == "start" }.count == alphaStarts, "alpha was not relaunched")
        let replicas = up.replicas(site: "beta")
        #expect(replicas.count == 1 && replicas.first?["incarnation"] as? Int == 2)
        // The others never stopped: every step has a quorum of at least minReplicas.
        let quorums = up.outerEvents(site: "alpha").compactMap { ($0["quorum"] as? [String])?.count }
        #expect(quorums.allSatisfy { $0 >= 2 })
        #expect(try up.interrupt() == 0)
    }
}
