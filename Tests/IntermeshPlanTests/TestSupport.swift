import Foundation
import GoldenFiles
import IntermeshPlan
import IntermeshSpec
import Testing

enum Repo {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    static let templates = try! TemplateSet(directory: path("templates"))

    /// Loads a spec that must be valid.
    static func run(_ relative: String) throws -> TrainingRun {
        let loaded = try SpecLoader().load(path: path(relative))
        return try #require(loaded.validRun, "\(relative): \(loaded.diagnostics)")
    }

    static func run(text: String) throws -> TrainingRun {
        let loaded = SpecLoader().load(name: "test.yaml", text: text)
        return try #require(loaded.validRun, "\(loaded.diagnostics)")
    }

    /// The plan and its rendered files.
    static func compile(_ run: TrainingRun) throws -> (Plan, [RenderedFile]) {
        var plan = Planner.compile(run)
        let files = try LaunchRenderer(templates: templates).render(&plan)
        return (plan, files)
    }
}

/// Compares text with a golden file; `INTERMESH_UPDATE_GOLDEN=1 swift test` rewrites the goldens.
func expectGolden(_ text: String, _ name: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
    let problem = GoldenDirectory(Repo.golden).check(text, name)
    #expect(problem == nil, "\(problem ?? "")", sourceLocation: sourceLocation)
}

let tinySpec = """
apiVersion: intermesh/v1
kind: TrainingRun
metadata:
  name: tiny
spec:
  model: {kind: mlp, layers: 1, hiddenSize: 8, vocabSize: 256, sequenceLength: 8}
  data:
    mix:
      - {name: prose, path: data/prose.txt, weight: 1}
  sites:
    - name: alpha
      replicas: 2

"""
