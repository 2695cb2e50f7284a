import Foundation
import IntermeshPlan
import IntermeshSpec
import Testing

/// `diff -f` output for each change class, against specs/local.yaml as the active revision.
@Suite struct ChangeReportGoldenTests {
    static let gamma = "    - name: gamma\n      region: local\n      replicas: 1\n"

    static func plan(_ edit: (String) -> String = { $0 }) throws -> Plan {
        let text = edit(try String(contentsOfFile: Repo.path("specs/local.yaml"), encoding: .utf8))
        return Planner.compile(try Repo.run(text: text))
    }

    static let cases: [(name: String, edit: @Sendable (String) -> String)] = [
        ("same", { $0 }),
        ("hot", {
            $0.replacingOccurrences(of: "lr: 0.7", with: "lr: 0.5").replacingOccurrences(of: "innerSteps: 50", with: "innerSteps: 25")
                .replacingOccurrences(of: "path: data/prose.txt\n        weight: 0.4", with: "path: data/prose.txt\n        weight: 0.1")
                .replacingOccurrences(of: "path: data/arithmetic.txt\n        weight: 0.3", with: "path: data/arithmetic.txt\n        weight: 0.6")
        }),
        ("site-local", { $0.replacingOccurrences(of: gamma, with: gamma + "      innerLr: 0.3\n") }),
        ("restart", { $0.replacingOccurrences(of: "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: \"1\"\n", with: "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: \"1\"\n        OMPI_MCA_btl: self,tcp\n") }),
        ("scale", {
            $0.replacingOccurrences(of: "    - name: alpha\n      region: local\n      replicas: 1", with: "    - name: alpha\n      region: local\n      replicas: 2")
                .replacingOccurrences(of: "  faultPolicy:", with: "    - name: delta\n      replicas: 1\n  faultPolicy:")
        }),
        ("immutable", { $0.replacingOccurrences(of: "hiddenSize: 256", with: "hiddenSize: 128") }),
        ("control", { $0.replacingOccurrences(of: "leadSteps: 2", with: "leadSteps: 4").replacingOccurrences(of: "purpose: demo", with: "purpose: test") }),
    ]

    /// For an engine managed through torchft, what the native engine takes hot needs a restart, and the fault policy is
    /// the control plane's own.
    @Test func torchftTrainingChangesRestart() throws {
        let base = try String(contentsOfFile: Repo.path("specs/torchft-local.yaml"), encoding: .utf8)
        let edited = base.replacingOccurrences(of: "innerSteps: 20", with: "innerSteps: 40").replacingOccurrences(of: "joinTimeout: 10s", with: "joinTimeout: 20s")
        let report = ChangeReport(run: "torchft-demo", revision: 2, old: Planner.compile(try Repo.run(text: base)),
                                  new: Planner.compile(try Repo.run(text: edited)))
        try expectGolden(report.render(), "diff/torchft-training.txt")
        #expect(report.differs)
    }

    @Test(arguments: cases.map(\.name))
    func reportMatchesGolden(name: String) throws {
        let edit = try #require(Self.cases.first { $0.name == name }).edit
        let report = ChangeReport(run: "local-demo", revision: 3, old: try Self.plan(), new: try Self.plan(edit))
        try expectGolden(report.render(), "diff/\(name).txt")
        #expect(report.differs == (name != "same"))
        #expect(report.refusals.isEmpty == (name != "immutable"))
    }

    @Test func jsonReportHasOneObjectPerChangeWithItsClass() throws {
        let report = ChangeReport(run: "local-demo", revision: 3, old: try Self.plan(), new: try Self.plan(Self.cases[2].edit))
        let object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(report)) as? [String: Any])
        let changes = try #require(object["changes"] as? [[String: Any]])
        #expect(changes.count == 1)
        #expect(changes[0]["path"] as? String == "spec.sites[gamma].innerLr")
        #expect(changes[0]["class"] as? String == "site-local")
        #expect(changes[0]["site"] as? String == "gamma")
        #expect(changes[0]["kind"] as? String == "+")
    }
}
