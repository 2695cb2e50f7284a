import Foundation
import IntermeshPlan
import IntermeshSpec
import Testing

/// The launch signature the planner writes decides what relaunches: the agent compares it, the rollout and
/// `diff -f` read it. A change classed restart for a site changes that site's signatures, and nothing else does.
@Suite struct LaunchSignatureTests {
    static func plan(_ edit: (String) -> String = { $0 }) throws -> Plan {
        Planner.compile(try Repo.run(text: edit(try String(contentsOfFile: Repo.path("specs/local.yaml"), encoding: .utf8))))
    }

    @Test(arguments: [
        ("hot fields relaunch nothing", ["lr: 0.7": "lr: 0.5", "innerSteps: 50": "innerSteps: 25", "heartbeatInterval: 1s": "heartbeatInterval: 2s"],
         [String: [String]]()),
        ("a site's environment relaunches that site", ["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: \"1\"\n": "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: \"1\"\n        OMPI_MCA_btl: self,tcp\n"],
         ["beta": ["beta/0"]]),
        ("a control-plane field relaunches nothing", ["leadSteps: 2": "leadSteps: 4"], [:]),
    ])
    func relaunches(_ name: String, _ edits: [String: String], _ expected: [String: [String]]) throws {
        let old = try Self.plan()
        let new = try Self.plan { text in edits.reduce(text) { $0.replacingOccurrences(of: $1.key, with: $1.value) } }
        #expect(new.run.contentHash != old.run.contentHash, "\(name): the edit did not apply")
        #expect(new.relaunches(from: old) == expected, "\(name)")
    }

    @Test func signaturesAreDeterministicAndDistinctPerReplica() throws {
        let (a, b) = (try Self.plan(), try Self.plan())
        let signatures = a.sites.flatMap(\.replicas).map(\.launchSignature)
        #expect(signatures == b.sites.flatMap(\.replicas).map(\.launchSignature))
        #expect(Set(signatures).count == signatures.count && signatures.allSatisfy { $0.count == 32 && $0.allSatisfy(\.isHexDigit) })
    }

    /// Plans stored before signatures existed still decode; their replicas have none (and relaunch once).
    @Test func aPlanWithoutSignaturesDecodes() throws {
        let plan = try Self.plan()
        var object = try #require(try JSONSerialization.jsonObject(with: PlanWriter.json(plan)) as? [String: Any])
        var sites = try #require(object["sites"] as? [[String: Any]])
        for index in sites.indices {
            sites[index]["replicas"] = (sites[index]["replicas"] as? [[String: Any]])?.map { $0.filter { $0.key != "launchSignature" } }
        }
        object["sites"] = sites
        let old = try JSONDecoder().decode(Plan.self, from: try JSONSerialization.data(withJSONObject: object))
        #expect(old.sites.flatMap(\.replicas).allSatisfy { $0.launchSignature.isEmpty })
        #expect(plan.relaunches(from: old).values.map(\.count).reduce(0, +) == 3)
    }
}
