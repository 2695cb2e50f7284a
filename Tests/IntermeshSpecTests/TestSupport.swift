import Foundation

/// Paths of the repository, found from this file's location.
enum Repo {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func fixtures(in folder: String, ext: String) -> [URL] {
        let dir = fixtures.appendingPathComponent(folder)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { $0.hasSuffix(".\(ext)") }.sorted().map { dir.appendingPathComponent($0) }
    }
}

/// A small valid spec to modify in tests.
let minimalSpec = """
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
