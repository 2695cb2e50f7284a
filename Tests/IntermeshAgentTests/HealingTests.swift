import Foundation
import IntermeshClient
import Testing

/// `intermesh up specs/local.yaml` heals itself: a replica killed with SIGKILL is out of the quorum within the
/// heartbeat timeout + 1 s, relaunched, recovered from a live donor and back in a quorum within 2 outer steps,
/// while the others never stop training; `intermesh diff` says so; Ctrl-C leaves no process behind.
@Suite(.serialized) struct HealingTests {
    @Test func aKilledReplicaIsRelaunchedAndRecoversFromALiveDonor() async throws {
        let up = UpProcess(port: 7741)
        defer { up.cleanUp() }
        try up.up("specs/local.yaml")
        try await up.wait("3 replicas at outer step 3", timeout: 120) {
            let members = try await up.members("local-demo")
            return members.count == 3 && members.allSatisfy { $0.outerStep >= 3 }
        }
        let (inSync, _) = try up.command(["diff", "local-demo"])
        #expect(inSync == 0)

        // Kill gamma's replica the hard way.
        let victim = try #require(up.replicas(site: "gamma").first)
        let pid = try #require((victim["pid"] as? NSNumber)?.int32Value)
        let member = try #require(victim["member"] as? String)
        let killedAt = Date()
        kill(pid, SIGKILL)

        var sawDifference = false
        try await up.wait("the killed member out of the membership", timeout: 6) {
            if !sawDifference, try up.command(["diff", "local-demo"]).0 == 1 { sawDifference = true }
            return try await !up.members("local-demo").contains { $0.id == member }
        }
        let detection = Date().timeIntervalSince(killedAt)
        #expect(detection <= 5 + 1, "out of the membership after \(detection) s; heartbeat timeout 5 s")
        if !sawDifference { sawDifference = try up.command(["diff", "local-demo"]).0 == 1 }

        // Relaunched, recovered from a donor, training in a quorum again.
        try await up.wait("the relaunched replica in a quorum", timeout: 90) {
            up.log(site: "gamma").contains { $0["event"] as? String == "recovered" }
                && up.outerEvents(site: "gamma").contains { ($0["quorum"] as? [String])?.contains("gamma/0") == true && ($0["time"] as? Double ?? 0) > killedAt.timeIntervalSince1970 }
        }
        try await up.wait("diff in sync again", timeout: 30) { try up.command(["diff", "local-demo"]).0 == 0 }
        #expect(sawDifference, "intermesh diff exited 1 while the replica was missing")

        let gamma = up.log(site: "gamma")
        let recovered = try #require(gamma.last { $0["event"] as? String == "recovered" })
        let recoveredStep = try #require(recovered["outer_step"] as? Int)
        let rejoined = try #require(gamma.first { $0["event"] as? String == "outer" && ($0["time"] as? Double ?? 0) > killedAt.timeIntervalSince1970 })
        let rejoinedStep = try #require(rejoined["outer_step"] as? Int)
        #expect(rejoinedStep <= recoveredStep + 2, "recovered at outer step \(recoveredStep), back in a quorum at \(rejoinedStep)")
        let healSeconds = (rejoined["time"] as? Double ?? 0) - killedAt.timeIntervalSince1970
        print("time to heal: \(String(format: "%.1f", healSeconds)) s (kill -> outer step \(rejoinedStep) completed in a quorum)")

        // The others trained through it: every outer step of alpha is there, and parameters agree at every step.
        let alphaSteps = up.outerEvents(site: "alpha").compactMap { $0["outer_step"] as? Int }
        #expect(alphaSteps == Array(1...(alphaSteps.last ?? 1)), "alpha's outer steps: \(alphaSteps)")
        var hashes: [Int: Set<String>] = [:]
        for site in ["alpha", "beta", "gamma"] {
            for event in up.outerEvents(site: site) {
                if let step = event["outer_step"] as? Int, let hash = event["hash"] as? String { hashes[step, default: []].insert(hash) }
            }
        }
        #expect(hashes.values.allSatisfy { $0.count == 1 }, "steps with differing parameters: \(hashes.filter { $0.value.count > 1 }.keys.sorted())")

        // Ctrl-C stops everything.
        #expect(try up.interrupt() == 0)
        try await up.wait("every process gone", timeout: 10) { up.processes().isEmpty }
    }
}
