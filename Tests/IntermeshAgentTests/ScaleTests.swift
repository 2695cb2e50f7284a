import Foundation
import IntermeshClient
import Testing

/// Sites come and go mid-run: a new one joins at an outer-step boundary, a removed one drains after its last
/// step; a crash-looping replica is quarantined and the run goes on.
@Suite(.serialized) struct ScaleTests {
    static let delta = """
        - name: delta
          region: local
          replicas: 1
          bandwidth: 1Gbps
          launcher:
            kind: local

    """

    @Test func aSiteAddedMidRunJoinsAndARemovedOneDrains() async throws {
        let up = UpProcess(port: 7744)
        defer { up.cleanUp() }
        try up.up("specs/local.yaml")
        try await up.wait("3 replicas at outer step 2", timeout: 120) { try await up.members("local-demo").filter { $0.outerStep >= 2 }.count == 3 }

        let bigger = try localSpec(appending: Self.delta)
        let (grew, grewOutput) = try up.command(["apply", "-f", bigger])
        #expect(grew == 0, "\(grewOutput)")
        try await up.wait("delta/0 in a quorum of 4", timeout: 120) {
            up.outerEvents(site: "delta").contains { ($0["quorum"] as? [String])?.count == 4 }
        }
        let delta = up.log(site: "delta")
        let recovered = try #require(delta.first { $0["event"] as? String == "recovered" }, "delta recovered from a live donor")
        let firstOuter = try #require(delta.first { $0["event"] as? String == "outer" })
        #expect((firstOuter["outer_step"] as? Int ?? 0) <= (recovered["outer_step"] as? Int ?? -10) + 2, "joined within 2 outer steps of recovering")
        // The other sites were not restarted for a change that is not theirs.
        #expect(up.log(site: "alpha").filter { $0["event"] as? String == "start" }.count == 1)

        let (shrank, shrankOutput) = try up.command(["apply", "-f", "specs/local.yaml"])
        #expect(shrank == 0, "\(shrankOutput)")
        try await up.wait("delta/0 drained", timeout: 60) {
            up.log(site: "delta").contains { $0["event"] as? String == "leave" && $0["reason"] as? String == "drained" }
        }
        let last = try #require(up.outerEvents(site: "delta").last?["outer_step"] as? Int)
        let stepNow = try await up.outerStep("local-demo")
        try await up.wait("two outer steps without delta", timeout: 60) { try await up.outerStep("local-demo") >= max(stepNow, last) + 2 }
        let alpha = up.outerEvents(site: "alpha")
        // delta contributed its last step, and the ring went on without it.
        #expect(alpha.first { $0["outer_step"] as? Int == last }.flatMap { $0["quorum"] as? [String] }?.contains("delta/0") == true)
        #expect(alpha.filter { ($0["outer_step"] as? Int ?? 0) > last }.allSatisfy { ($0["quorum"] as? [String])?.contains("delta/0") == false })
        #expect(up.replicas(site: "delta").isEmpty)
        var hashes: [Int: Set<String>] = [:]
        for site in ["alpha", "beta", "gamma", "delta"] {
            for event in up.outerEvents(site: site) {
                if let step = event["outer_step"] as? Int, let hash = event["hash"] as? String { hashes[step, default: []].insert(hash) }
            }
        }
        #expect(hashes.values.allSatisfy { $0.count == 1 })
        #expect(try up.interrupt() == 0)
        try await up.wait("every process gone", timeout: 10) { up.processes().isEmpty }
    }

    @Test func aCrashLoopingReplicaIsQuarantinedAndTheRunGoesOn() async throws {
        let up = UpProcess(port: 7745)
        defer { up.cleanUp() }
        // gamma's replicas look for their data where there is none: each one exits at start.
        let broken = try localSpec(replacing: [("""
              bandwidth: 500Mbps
              launcher:
                kind: local
        """, """
              bandwidth: 500Mbps
              launcher:
                kind: local
              env:
                INTERMESH_DATA_DIR: /nonexistent
        """)])
        try up.up(broken, extra: ["--outer-steps", "8"])
        try up.wait("up to finish", timeout: 240) { up.process?.isRunning == false }
        #expect(up.process?.terminationStatus == 0)
        #expect(up.text.contains("Quarantined: quarantined gamma/0: crash-looping: 4 launches within 2m"), "\(up.text.suffix(2000))")
        #expect(up.text.contains("exited with code 2"))
        #expect(up.text.contains("summary"))
        let alphaSteps = up.outerEvents(site: "alpha").compactMap { $0["outer_step"] as? Int }
        #expect((alphaSteps.last ?? 0) >= 8)
        #expect(up.processes().isEmpty)
    }
}
