import Foundation
import IntermeshAPI
import IntermeshClient
import Testing

/// `faultPolicy.disconnectGrace`: a replica silent past the heartbeat timeout (frozen here; in life, a site cut off)
/// keeps its slot within the grace and rejoins by live recovery; past the grace its slot is relaunched, its agent
/// stops the old incarnation, and no quorum ever has two incarnations of one slot.
@Suite(.serialized) struct DisconnectTests {
    func health(_ up: UpProcess, slot: String) async throws -> SlotView.Health? {
        let view: RunView = try await up.client().get("/v1/runs/local-demo/view")
        return view.sites.flatMap(\.slots).first { $0.slot == slot }?.health
    }

    /// How many reconcile passes so far looked at every member.
    func fullPasses(_ up: UpProcess) async throws -> Double {
        try await up.client().metrics().first { $0.key.hasPrefix("intermesh_reconcile_pass_seconds_count") && $0.key.contains("full") }?.value ?? 0
    }

    /// Each "outer" line of a replica's log with the member that wrote it (the agent heads each incarnation's output).
    func outerByMember(_ up: UpProcess, site: String) -> [(member: String, quorum: Int, step: Int)] {
        let path = up.data.appendingPathComponent("agents/\(site)/logs/\(site)-0.log").path
        var member = ""
        var out: [(String, Int, Int)] = []
        for line in ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n") {
            if line.hasPrefix("=== "), let range = line.range(of: ", member ") {
                member = String(line[range.upperBound...].prefix { $0 != "," })
            } else if line.hasPrefix("{"), let event = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      event["event"] as? String == "outer" {
                out.append((member, event["quorum_id"] as? Int ?? -1, event["outer_step"] as? Int ?? -1))
            }
        }
        return out
    }

    @Test func aDisconnectedReplicaKeepsItsSlotWithinTheGraceAndIsReplacedPastIt() async throws {
        let up = UpProcess(port: 7753)
        defer { up.cleanUp() }
        try up.up(try localSpec(replacing: [("    joinTimeout: 20s\n", "    joinTimeout: 20s\n    disconnectGrace: 15s\n")]))
        try await up.wait("3 replicas training", timeout: 120) { try await up.members("local-demo").filter { $0.outerStep >= 2 }.count == 3 }
        let first = try #require(up.replicas(site: "gamma").first)
        let pid = Int32(try #require(first["pid"] as? Int))
        let member = try #require(first["member"] as? String)

        // Silent past the timeout (5 s), within the grace: disconnected; nothing is launched for its slot.
        kill(pid, SIGSTOP)
        try await up.wait("gamma/0 disconnected", timeout: 20) { try await health(up, slot: "gamma/0") == .disconnected }
        let passes = try await fullPasses(up)
        try await Task.sleep(for: .seconds(4))
        // Decided on once: the control plane does not look at every member in every pass (4 a second) while it waits
        // for the grace to end.
        let more = try await fullPasses(up) - passes
        print("full reconcile passes in 4 s while gamma/0 was disconnected: \(Int(more))")
        #expect(more < 4, "\(more) full reconcile passes in 4 s while a member was disconnected")
        #expect(up.replicas(site: "gamma").map { $0["member"] as? String } == [member])
        let stepAway = try await up.outerStep("local-demo")
        kill(pid, SIGCONT)
        // Back before the grace ended: the same incarnation rejoins a later quorum.
        try await up.wait("gamma/0 back in a quorum", timeout: 90) {
            outerByMember(up, site: "gamma").contains { $0.member == member && $0.step > stepAway }
        }
        #expect(up.replicas(site: "gamma").map { $0["member"] as? String } == [member])
        let (_, events) = try up.command(["events", "local-demo"])
        // Said once while it lasted, not by every reconcile pass.
        let said = events.components(separatedBy: "member \(member) of gamma/0 disconnected").count - 1
        #expect(said == 1, "\(events.suffix(2000))")

        // Silent past the grace: lost; the slot is relaunched and the frozen incarnation stopped by its agent.
        kill(pid, SIGSTOP)
        try await up.wait("a new incarnation of gamma/0", timeout: 90) {
            up.replicas(site: "gamma").contains { ($0["member"] as? String).map { $0 != member } ?? false }
        }
        #expect(kill(pid, 0) != 0 || ResilienceTests.isZombie(pid), "the lost incarnation was stopped before the new one started")
        try await up.wait("the new incarnation in a quorum", timeout: 120) {
            outerByMember(up, site: "gamma").contains { $0.member != member }
        }
        let (_, later) = try up.command(["events", "local-demo"])
        #expect(later.contains("member \(member) of gamma/0 lost"), "\(later.suffix(2000))")
        // Never two incarnations of one slot in one quorum.
        var members: [Int: Set<String>] = [:]
        for outer in outerByMember(up, site: "gamma") { members[outer.quorum, default: []].insert(outer.member) }
        #expect(members.values.allSatisfy { $0.count == 1 }, "\(members.filter { $0.value.count > 1 })")
        #expect(try up.interrupt() == 0)
        try await up.wait("every process gone", timeout: 10) { up.processes().isEmpty }
    }
}
