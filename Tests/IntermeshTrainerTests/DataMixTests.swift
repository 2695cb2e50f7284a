import Foundation
import IntermeshSpec
import Testing
@testable import IntermeshTrainer

@Suite struct DataMixTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func mix(weights: [Double]) throws -> DataMix {
        let text = """
        apiVersion: intermesh/v1
        kind: TrainingRun
        metadata: {name: mix}
        spec:
          model: {kind: mlp, layers: 1, hiddenSize: 8, vocabSize: 256, sequenceLength: 16}
          data:
            mix:
              - {name: prose, path: data/prose.txt, weight: \(weights[0])}
              - {name: code, path: data/code.txt, weight: \(weights[1])}
              - {name: arithmetic, path: data/arithmetic.txt, weight: \(weights[2])}
          sites: [{name: a}]
        """
        let run = try #require(SpecLoader().load(name: "m.yaml", text: text).validRun)
        return try DataMix(spec: run.spec.data, context: 16, directory: Self.root)
    }

    @Test func samplingFollowsTheWeights() throws {
        let data = try mix(weights: [0.6, 0.3, 0.1])
        var sampler = ShardSampler(shard: 0, shards: 1, seed: 1)
        let (inputs, _) = sampler.batch(6000, from: data)
        // Arithmetic lines are digits and operators only: count windows that look like them.
        let arithmetic = stride(from: 0, to: inputs.count, by: 16).filter { start in
            inputs[start..<(start + 16)].allSatisfy { "0123456789+-*=\n".utf8.contains($0) }
        }.count
        #expect(abs(Double(arithmetic) / 6000 - 0.1) < 0.03, "\(arithmetic) arithmetic windows")
    }

    @Test func shardsAreDeterministicAndDisjoint() throws {
        let data = try mix(weights: [1, 1, 1])
        var a1 = ShardSampler(shard: 0, shards: 4, seed: 9), a2 = ShardSampler(shard: 0, shards: 4, seed: 9)
        var b = ShardSampler(shard: 1, shards: 4, seed: 9)
        let first = a1.batch(64, from: data), again = a2.batch(64, from: data), other = b.batch(64, from: data)
        #expect(first.inputs == again.inputs && first.targets == again.targets)
        #expect(first.inputs != other.inputs)
    }

    @Test func evaluationComesFromTheHeldOutTail() throws {
        let data = try mix(weights: [1, 1, 1])
        for (index, batch) in data.evaluationBatches(size: 8).enumerated() {
            #expect(batch.name == data.sources[index].name)
            #expect(batch.targets.count == 8)
        }
        #expect(data.sources.allSatisfy { $0.evalStart < $0.bytes.count && $0.evalStart > $0.bytes.count / 2 })
    }

    @Test func missingFilesAndJSONLFieldsAreClearErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jsonl-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try "{\"text\": \"hello\"}\n{\"body\": \"x\"}\n".write(to: dir.appendingPathComponent("d.jsonl"), atomically: true, encoding: .utf8)
        #expect(throws: DataMix.Failure.self) { try DataMix.jsonlText(Data(contentsOf: dir.appendingPathComponent("d.jsonl")), field: "text", name: "d") }
        let text = try DataMix.jsonlText(Data("{\"text\": \"hi\"}\n{\"text\": \"yo\"}\n".utf8), field: "text", name: "d")
        #expect(String(decoding: text, as: UTF8.self) == "hi\nyo\n")
    }
}
