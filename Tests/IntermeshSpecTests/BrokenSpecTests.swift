import Foundation
import Testing
@testable import IntermeshSpec

/// Every file under Fixtures/broken has a `.expected` file: the exact `LINE:COL: severity: message` lines.
@Suite struct BrokenSpecTests {
    static let cases = Repo.fixtures(in: "broken", ext: "yaml").map(\.lastPathComponent)

    @Test(arguments: cases)
    func reportsEveryProblemWithItsLocation(_ name: String) throws {
        let url = Repo.fixtures.appendingPathComponent("broken").appendingPathComponent(name)
        let expectedURL = url.deletingPathExtension().appendingPathExtension("expected")
        let expected = try String(contentsOf: expectedURL, encoding: .utf8).split(separator: "\n").map(String.init)
        let loaded = try SpecLoader().load(path: url.path)
        #expect(!loaded.isValid, "\(name) should be invalid")
        #expect(loaded.diagnostics.map(\.description) == expected)
    }

    /// An expectation whose fixture is gone would never be checked.
    @Test func everyExpectationHasItsFixture() {
        let expectations = Repo.fixtures(in: "broken", ext: "expected").map { $0.deletingPathExtension().lastPathComponent + ".yaml" }
        #expect(Set(expectations) == Set(Self.cases))
    }

    @Test func thereIsAFixtureForEveryErrorClass() {
        let required = ["syntax", "unknown-keys", "missing-and-types", "names", "cross-field", "units", "injection",
                        "alias-bomb", "deep-nesting", "empty", "not-utf8", "multiple-documents", "header", "not-a-mapping", "secrets"]
        for name in required { #expect(Self.cases.contains("\(name).yaml"), "missing fixture \(name)") }
    }

    @Test func oversizeFileIsRefusedWithoutParsing() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("oversize-\(UUID()).yaml").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let line = "# " + String(repeating: "x", count: 1022) + "\n"
        try String(repeating: line, count: 4 * 1024 + 1).write(toFile: path, atomically: true, encoding: .utf8)
        let loaded = try SpecLoader().load(path: path)
        #expect(loaded.diagnostics.map(\.description) == ["error: file is larger than the 4 MiB limit for a spec"])
    }

    @Test func missingFileIsAnIOErrorNotADiagnostic() {
        #expect(throws: SpecSourceError.self) { try SpecLoader().load(path: "/nonexistent/spec.yaml") }
        #expect(throws: SpecSourceError.self) { try SpecLoader().load(path: NSTemporaryDirectory()) }
    }

    /// An invalid byte is located with lines counted as the YAML parser and the renderer count them.
    @Test(arguments: [
        (Array("a: 1\nb: ".utf8) + [0xE9], 2, 4),
        (Array("a: 1\r\nb: ".utf8) + [0xE9], 2, 4),
        (Array("a: 1\rb: 2\rc".utf8) + [0xFF], 3, 2),
        (Array("a\u{85}b\u{2028}c\u{2029}dé".utf8) + [0xC3], 4, 3),
        ([0xE9], 1, 1),
    ] as [([UInt8], Int, Int)])
    func invalidUTF8IsLocatedByLine(_ bytes: [UInt8], line: Int, column: Int) {
        guard case let .failure(diagnostic) = SpecSource.decode(name: "x.yaml", data: Data(bytes)) else {
            Issue.record("invalid UTF-8 was accepted"); return
        }
        #expect(diagnostic.location == SourceLocation(line: line, column: column))
    }

    @Test func aliasBombFailsInBoundedTime() {
        // A tighter budget must still refuse the bomb; the whole load stays far below a second.
        let text = try! String(contentsOf: Repo.fixtures.appendingPathComponent("broken/alias-bomb.yaml"), encoding: .utf8)
        let start = ContinuousClock.now
        let loaded = SpecLoader(limits: .init(maxExpandedNodes: 10_000)).load(name: "bomb.yaml", text: text)
        #expect(loaded.diagnostics.first?.message.contains("alias bomb") == true)
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    @Test func mergeKeysAndAnchorsWork() {
        let text = minimalSpec.replacingOccurrences(of: """
          sites:
            - name: alpha
              replicas: 2
        """, with: """
          sites:
            - &base
              name: alpha
              replicas: 2
              bandwidth: 4Gbps
            - <<: *base
              name: beta
        """)
        let loaded = SpecLoader().load(name: "merge.yaml", text: text)
        #expect(loaded.diagnostics.isEmpty)
        #expect(loaded.run?.spec.sites.map(\.name) == ["alpha", "beta"])
        #expect(loaded.run?.spec.sites.last?.bandwidth == Bandwidth(parsing: "4Gbps"))
    }
}
