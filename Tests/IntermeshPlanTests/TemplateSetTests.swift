import Foundation
@testable import IntermeshPlan
import Testing

@Suite struct TemplateSetTests {
    func templates(_ files: [String: String]) throws -> TemplateSet {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("templates-\(UUID())")
        for (name, text) in files {
            let url = dir.appendingPathComponent(name + ".mustache")
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        return try TemplateSet(directory: dir.path)
    }

    nonisolated(unsafe) static let cases: [(String, [String: Any], String?)] = [
        ("hello {{name}}", ["name": "x"], nil),
        ("hello {{nmae}}", ["name": "x"], "nmae"),
        ("{{#items}}{{id}}{{/items}}", ["items": [["id": 1], ["id": 2]]], nil),
        ("{{#items}}{{id}}{{label}}{{/items}}", ["items": [["id": 1]]], "label"),
        ("{{#flag}}{{name}}{{/flag}}", ["flag": true, "name": "x"], nil),
        ("{{^missing}}none{{/missing}}", [:], "missing"),
        ("{{{raw}}} {{& amp}}", ["raw": "r"], "amp"),
        ("{{a.b}}", ["a": ["b": 1]], nil),
        ("{{a.c}}", ["a": ["b": 1]], "a.c"),
        ("{{> partials/none}}", [:], "> partials/none"),
        ("{{! a comment }}{{% CONTENT_TYPE: TEXT}}ok", [:], nil),
    ]

    @Test func missingNamesAreFound() throws {
        for (template, context, missing) in Self.cases {
            let set = try templates(["t": template])
            if let missing {
                #expect(throws: TemplateSet.Failure.self, "\(template)") { try set.render("t", context: context) }
                #expect(StrictCheck(sources: set.sources).missing(in: "t", context: context) == [missing], "\(template)")
            } else {
                #expect(throws: Never.self, "\(template)") { try set.render("t", context: context) }
            }
        }
    }

    @Test func shellContentTypeQuotesEscapedValuesOnly() throws {
        let set = try templates([
            "s": "{{% CONTENT_TYPE: SHELL}}echo {{v}} {{{v}}}",
            "p": "{{% CONTENT_TYPE: SHELL}}{{> inner}}",
            "inner": "{{% CONTENT_TYPE: SHELL}}echo {{v}}",
        ])
        #expect(try set.render("s", context: ["v": "a b"]) == "echo 'a b' a b")
        #expect(try set.render("p", context: ["v": "it's"]) == "echo 'it'\\''s'")
    }
}
