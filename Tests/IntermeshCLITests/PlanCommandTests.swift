import Foundation
import Testing

@Suite struct PlanCommandTests {
    @Test func planTwiceGivesIdenticalTrees() throws {
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a").path, b = dir.appendingPathComponent("b").path
        #expect(try CLI.run(["plan", "specs/intellect-1.yaml", "--out", a]).code == 0)
        #expect(try CLI.run(["plan", "specs/intellect-1.yaml", "--out", b]).code == 0)
        let diff = Process()
        diff.executableURL = URL(fileURLWithPath: "/usr/bin/diff")
        diff.arguments = ["-r", a, b]
        try diff.run()
        diff.waitUntilExit()
        #expect(diff.terminationStatus == 0)
        let sites = try FileManager.default.contentsOfDirectory(atPath: "\(a)/sites")
        #expect(sites.count == 14)
    }

    @Test func summaryMatchesGolden() throws {
        let result = try CLI.run(["plan", "specs/local.yaml"])
        #expect(result.code == 0)
        try expectGolden(result.stdout, "plan-local.txt")
        let intellect = try CLI.run(["plan", "specs/intellect-1.yaml"])
        try expectGolden(intellect.stderr, "plan-intellect-1-warnings.txt")
    }

    @Test func invalidSpecPlansNothing() throws {
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try CLI.run(["plan", "Tests/IntermeshSpecTests/Fixtures/broken/names.yaml", "--out", dir.path])
        #expect(result.code == 1)
        #expect(result.stderr.contains("nothing was planned"))
        #expect(!FileManager.default.fileExists(atPath: dir.path))
    }

    @Test func jsonPlanCarriesTheContentHash() throws {
        let result = try CLI.run(["plan", "specs/local.yaml", "-o", "json"])
        #expect(result.code == 0)
        let plan = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect((plan["contentHash"] as? String)?.hasPrefix("sha256:") == true)
        #expect((plan["sites"] as? [Any])?.count == 3)
    }

    @Test func missingTemplatesIsAUsageError() throws {
        let result = try CLI.run(["plan", "specs/local.yaml", "--out", CLI.temporaryDirectory().path, "--templates", "/nonexistent"])
        #expect(result.code == 2)
        #expect(result.stderr.hasPrefix("error: /nonexistent"))
    }

    @Test func schemaIsJSONAndDocsAreCurrent() throws {
        let json = try CLI.run(["schema"])
        #expect(json.code == 0)
        let schema = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(schema["$schema"] as? String == "https://json-schema.org/draft/2020-12/schema")
        let markdown = try CLI.run(["schema", "--format", "markdown"])
        let docs = try String(contentsOf: CLI.root.appendingPathComponent("docs/spec.md"), encoding: .utf8)
        #expect(markdown.stdout == docs, "docs/spec.md is stale: run `intermesh schema --format markdown > docs/spec.md`")
    }
}
