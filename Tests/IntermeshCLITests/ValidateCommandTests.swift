import Foundation
import IntermeshAPI
import Testing

@Suite struct ValidateCommandTests {
    let broken = "Tests/IntermeshSpecTests/Fixtures/broken"

    @Test func exampleSpecsAreValid() throws {
        let result = try CLI.run(["validate", "specs/local.yaml", "specs/intellect-1.yaml", "specs/mixed.yaml"])
        #expect(result.code == 0, "\(result.stderr)")
        #expect(result.stdout.contains("specs/local.yaml: valid"))
    }

    @Test func invalidSpecExitsOneWithCompilerStyleErrors() throws {
        let result = try CLI.run(["validate", "\(broken)/cross-field.yaml"])
        #expect(result.code == 1)
        #expect(result.stdout.isEmpty)
        try expectGolden(result.stderr, "validate-cross-field.txt")
    }

    @Test func oneInvalidAmongValidIsOne() throws {
        #expect(try CLI.run(["validate", "specs/local.yaml", "\(broken)/units.yaml"]).code == 1)
    }

    @Test(arguments: [
        ["validate", "no-such-file.yaml"],
        ["validate", "specs/local.yaml", "no-such-file.yaml", "Tests/IntermeshSpecTests/Fixtures/broken/units.yaml"],
        ["validate", "specs"],
        ["validate"],
        ["validate", "--bogus", "specs/local.yaml"],
        ["validate", "-o", "xml", "specs/local.yaml"],
        ["plan"],
        ["nonsense"],
    ])
    func usageAndIOErrorsExitTwo(_ arguments: [String]) throws {
        let result = try CLI.run(arguments)
        #expect(result.code == 2, "\(arguments): \(result.stderr)")
        #expect(!result.stderr.isEmpty)
        #expect(!result.stderr.contains("Fatal error"))
    }

    @Test(arguments: ["0.0.0.0", "::", "", "a b"])
    func anAgentsLighthouseRelayNeedsAnAddressReplicasReach(_ address: String) throws {
        let result = try CLI.run(["agent", "--site", "alpha", "--run", "r", "--lighthouse-relay", address], environment: ["INTERMESH_TOKEN": "imt_x"])
        #expect(result.code == 2)
        #expect(result.stderr.contains("--lighthouse-relay must be an address of this machine its replicas reach"), "\(result.stderr)")
    }

    @Test func jsonReportIsStable() throws {
        let result = try CLI.run(["validate", "-o", "json", "\(broken)/units.yaml", "specs/local.yaml"])
        #expect(result.code == 1)
        let reports = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        #expect(reports.map { $0["file"] as? String } == ["\(broken)/units.yaml", "specs/local.yaml"])
        #expect(reports.map { $0["valid"] as? Bool } == [false, true])
        let first = try #require((reports[0]["diagnostics"] as? [[String: Any]])?.first)
        #expect(first["line"] as? Int == 11)
        #expect(first["column"] as? Int == 18)
        #expect(first["path"] as? String == "spec.training.totalTokens")
        #expect((reports[1]["contentHash"] as? String)?.hasPrefix("sha256:") == true)
    }

    @Test func canonicalFormIsItselfValid() throws {
        let result = try CLI.run(["validate", "--canonical", "specs/local.yaml"])
        #expect(result.code == 0)
        #expect(result.stdout.contains("innerSteps: 50"))
        #expect(result.stdout.contains("heartbeatTimeout: 5s"))
        let dir = CLI.temporaryDirectory()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("canonical.yaml")
        try result.stdout.write(to: file, atomically: true, encoding: .utf8)
        let again = try CLI.run(["validate", file.path])
        #expect(again.code == 0, "\(again.stderr)")
    }

    @Test func noColourWhenNotATerminal() throws {
        let result = try CLI.run(["validate", "\(broken)/units.yaml"])
        #expect(!result.stderr.contains("\u{1B}["))
    }
}
