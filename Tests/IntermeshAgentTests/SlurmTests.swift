import Foundation
import Testing

/// A site with the `slurm` launcher on the one-node cluster `scripts/slurm-local.sh` starts: its replica runs
/// as a batch job submitted by the agent, trains in the same ring as the local sites, and is resubmitted when
/// its job is cancelled.
@Suite(.serialized) struct SlurmTests {
    @Test func aSlurmSiteTrainsAsABatchJobAndIsResubmittedWhenCancelled() async throws {
        let (status, nodes) = try runProgram(["sinfo", "-h", "-o", "%T"])
        try #require(status == 0 && !nodes.isEmpty, "no Slurm cluster: run scripts/slurm-local.sh (scripts/setup.sh does)\n\(nodes)")
        let up = UpProcess(port: 7749)
        var jobs: [String] = []
        defer {
            up.cleanUp()
            for job in jobs { _ = try? runProgram(["scancel", job]) }
        }
        let spec = try localSpec(replacing: [(
            "      bandwidth: 500Mbps\n      launcher:\n        kind: local\n",
            "      bandwidth: 500Mbps\n      launcher:\n        kind: slurm\n        partition: debug\n"
        )])
        try up.up(spec)
        try up.wait("gamma/0 in a quorum of 3", timeout: 180) {
            up.outerEvents(site: "gamma").contains { ($0["quorum"] as? [String])?.count == 3 }
        }
        let first = try #require(up.replicas(site: "gamma").first?["jobId"] as? String, "gamma's replica is a Slurm job")
        jobs.append(first)
        let (_, queue) = try runProgram(["squeue", "-h", "-j", first, "-o", "%T"])
        #expect(queue.contains("RUNNING"), "\(queue)")

        // Cancel the job: the agent sees it end, the slot is relaunched as a new job that recovers and rejoins.
        let cancelledAt = up.outerEvents(site: "alpha").last?["outer_step"] as? Int ?? 0
        _ = try runProgram(["scancel", first])
        try up.wait("gamma/0 resubmitted", timeout: 120) {
            (up.replicas(site: "gamma").first?["jobId"] as? String).map { $0 != first } ?? false
        }
        if let second = up.replicas(site: "gamma").first?["jobId"] as? String { jobs.append(second) }
        try up.wait("gamma/0 back in a quorum", timeout: 180) {
            up.log(site: "gamma").contains { $0["event"] as? String == "recovered" }
                && up.outerEvents(site: "gamma").contains { ($0["outer_step"] as? Int ?? 0) > cancelledAt + 1 }
        }
        // The others never stopped, and every replica holds the same parameters at every step.
        let alphaSteps = up.outerEvents(site: "alpha").compactMap { $0["outer_step"] as? Int }
        #expect(alphaSteps == Array(1...(alphaSteps.last ?? 0)))
        var hashes: [Int: Set<String>] = [:]
        for site in ["alpha", "beta", "gamma"] {
            for event in up.outerEvents(site: site) {
                if let step = event["outer_step"] as? Int, let hash = event["hash"] as? String { hashes[step, default: []].insert(hash) }
            }
        }
        #expect(hashes.values.allSatisfy { $0.count == 1 })
        let agentLog = (try? String(contentsOf: up.data.appendingPathComponent("agents/gamma/agent.log"), encoding: .utf8)) ?? ""
        #expect(agentLog.contains("Slurm job \(first)"), "\(agentLog.suffix(1500))")

        #expect(try up.interrupt() == 0)
        // Ctrl-C leaves no job behind.
        try await up.wait("the jobs gone from the queue", timeout: 30) {
            let (_, left) = try runProgram(["squeue", "-h", "--me", "-o", "%i"])
            return Set(left.split(separator: "\n").map(String.init)).isDisjoint(with: jobs)
        }
    }
}
