import Foundation
import Testing
@testable import IntermeshTrainer

/// Real processes on loopback: three replicas (one of them 2 MPI ranks) train, agree, lose one and heal.
@Suite(.serialized) struct StandaloneRunTests {
    @Test func replicasAgreeLoseOneAndHeal() throws {
        let harness = try TrainerHarness(spec: trainerSpec(basePort: 26100, innerSteps: 20))
        defer { harness.stopAll() }
        let slots = ["alpha/0", "beta/0", "gamma/0"]
        for slot in slots { try harness.start(slot, extra: ["--outer-steps", "40"]) }
        harness.wait(120, "three replicas to complete outer step 3") { slots.allSatisfy { harness.lastOuterStep($0) >= 3 } }

        // kill -9 mid-run: the others go on with the smaller ring.
        harness.kill("gamma/0")
        let killedAt = harness.lastOuterStep("alpha/0")
        harness.wait(60, "a two-member quorum") {
            harness.outerSteps("alpha/0").contains { ($0["quorum"] as? [String])?.count == 2 }
        }
        // The restarted replica recovers from a live peer and rejoins.
        try harness.start("gamma/0", extra: ["--outer-steps", "40"])
        harness.wait(90, "gamma to recover and rejoin") {
            harness.events("gamma/0").contains { $0["event"] as? String == "recovered" }
                && harness.outerSteps("gamma/0").contains { ($0["quorum"] as? [String])?.count == 3 }
        }
        for slot in slots { #expect(harness.waitForExit(slot, timeout: 180) == 0, "\(slot) did not finish cleanly") }

        // Every replica that completed a step logged the same parameter hash for it.
        var hashes: [Int: Set<String>] = [:]
        for slot in slots {
            for step in harness.outerSteps(slot) {
                hashes[step["outer_step"] as! Int, default: []].insert(step["hash"] as! String)
            }
        }
        #expect(hashes.count == 40)
        #expect(hashes.values.allSatisfy { $0.count == 1 }, "hashes differ: \(hashes)")
        let alpha = harness.outerSteps("alpha/0")
        #expect(alpha.map { $0["outer_step"] as! Int } == Array(1...40))
        #expect(alpha.contains { ($0["outer_step"] as! Int) > killedAt && ($0["quorum"] as? [String]) == ["alpha/0", "beta/0"] })
        let first = alpha.first!["loss"] as! Double, last = alpha.last!["loss"] as! Double
        #expect(last < first * 0.8, "loss \(first) -> \(last)")
    }

    @Test func aStoppedReplicaLeavesAndIsNotWaitedFor() throws {
        let harness = try TrainerHarness(spec: trainerSpec(basePort: 26200, innerSteps: 40))
        defer { harness.stopAll() }
        for slot in ["alpha/0", "gamma/0", "beta/0"] { try harness.start(slot, extra: ["--outer-steps", "200"]) }
        harness.wait(120, "outer step 2") { harness.lastOuterStep("gamma/0") >= 2 }
        let stoppedAt = harness.lastOuterStep("gamma/0")
        harness.processes["gamma/0"]?.terminate()
        #expect(harness.waitForExit("gamma/0", timeout: 30) == 0)
        #expect(harness.events("gamma/0").last?["event"] as? String == "leave")
        let before = Date()
        harness.wait(60, "a step without gamma") {
            harness.outerSteps("alpha/0").contains { ($0["quorum"] as? [String]) == ["alpha/0", "beta/0"] }
        }
        // The deathrattle means no join timeout (20 s) is spent waiting for it.
        #expect(Date().timeIntervalSince(before) < 15)
        #expect(harness.lastOuterStep("gamma/0") < stoppedAt + 3)
        harness.stopAll()
        #expect(harness.events("alpha/0").last?["event"] as? String == "leave")
    }
}
