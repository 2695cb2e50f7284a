import Foundation
import Testing
@testable import IntermeshSpec

@Suite struct SpecLoaderTests {
    @Test(arguments: ["specs/local.yaml", "specs/intellect-1.yaml", "specs/mixed.yaml"])
    func exampleSpecsAreValid(_ path: String) throws {
        let loaded = try SpecLoader().load(path: Repo.path(path))
        #expect(loaded.diagnostics.filter(\.isError).isEmpty, "\(loaded.diagnostics)")
        #expect(loaded.isValid)
    }

    @Test func defaultsAreFilledIn() throws {
        let run = try #require(SpecLoader().load(name: "t.yaml", text: minimalSpec).validRun)
        #expect(run.spec.training.innerSteps == 100)
        #expect(run.spec.training.checkpoint.interval == 100)
        #expect(run.spec.training.outerOptimizer.lr == 0.7)
        #expect(run.spec.training.outerOptimizer.momentum == 0.9)
        #expect(run.spec.training.quantization == .int8)
        #expect(run.spec.faultPolicy.heartbeatInterval == .seconds(2))
        #expect(run.spec.faultPolicy.heartbeatTimeout == .seconds(10))
        #expect(run.spec.faultPolicy.joinTimeout == .seconds(60))
        #expect(run.spec.sites[0].launcher.kind == .local)
        #expect(run.spec.sites[0].gpu.count == 1)
        #expect(run.spec.engine.entrypoint == "intermesh-trainer")
    }

    @Test func mixWeightsAreNormalisedWithAWarning() throws {
        let text = minimalSpec.replacingOccurrences(
            of: "      - {name: prose, path: data/prose.txt, weight: 1}",
            with: "      - {name: prose, path: data/prose.txt, weight: 3}\n      - {name: code, path: data/code.txt, weight: 1}")
        let loaded = SpecLoader().load(name: "t.yaml", text: text)
        #expect(loaded.isValid)
        #expect(loaded.diagnostics.map(\.description) == ["9:7: warning: data-mix weights sum to 4, not 1; they are normalised to 0.75, 0.25"])
        #expect(loaded.run?.spec.data.mix.map(\.weight) == [0.75, 0.25])
    }

    @Test func canonicalFormIsStableAndRoundTrips() throws {
        let run = try #require(SpecLoader().load(name: "t.yaml", text: minimalSpec).validRun)
        let reordered = minimalSpec.replacingOccurrences(of: "apiVersion: intermesh/v1\nkind: TrainingRun\n", with: "kind: TrainingRun\napiVersion: intermesh/v1\n")
        let same = try #require(SpecLoader().load(name: "t.yaml", text: reordered).validRun)
        #expect(run.contentHash == same.contentHash)
        #expect(run.contentHash.hasPrefix("sha256:"))
        let decoded = try JSONDecoder().decode(TrainingRun.self, from: run.canonicalJSON())
        #expect(decoded == run)
        // The canonical YAML is itself a valid spec with the same content.
        let again = try #require(SpecLoader().load(name: "canonical.yaml", text: run.canonicalYAML()).validRun)
        #expect(again.contentHash == run.contentHash)
    }

    @Test func anyChangeChangesTheContentHash() throws {
        let base = try #require(SpecLoader().load(name: "t.yaml", text: minimalSpec).validRun)
        let changed = try #require(SpecLoader().load(name: "t.yaml", text: minimalSpec.replacingOccurrences(of: "replicas: 2", with: "replicas: 3")).validRun)
        #expect(base.contentHash != changed.contentHash)
    }

    @Test func explicitDefaultsHashLikeOmittedOnes() throws {
        let base = try #require(SpecLoader().load(name: "t.yaml", text: minimalSpec).validRun)
        let explicit = try #require(SpecLoader().load(name: "t.yaml", text: minimalSpec + "  training:\n    innerSteps: 100\n    quantization: int8\n").validRun)
        #expect(base.contentHash == explicit.contentHash)
    }

    @Test func rendererPointsAtTheColumn() throws {
        let text = minimalSpec.replacingOccurrences(of: "replicas: 2", with: "replicas: many")
        let loaded = SpecLoader().load(name: "t.yaml", text: text)
        let rendered = DiagnosticRenderer(fileName: "t.yaml", text: text).render(loaded.diagnostics)
        #expect(rendered == """
        t.yaml:12:17: error: 'replicas' must be an integer, got a string
              replicas: many
                        ^
        """)
    }

    @Test(arguments: [
        // Llama-2-7B: 6,738,415,616 parameters.
        ("transformer", 32, 4096, 32, 32, 11008, "swiglu", 32000, 6_738_415_616),
        // INTELLECT-1 (10B class).
        ("transformer", 42, 4096, 32, 8, 14336, "swiglu", 128256, 10_211_381_248),
    ] as [(String, Int, Int, Int, Int, Int, String, Int, Int)])
    func parameterCounts(_ kind: String, _ layers: Int, _ hidden: Int, _ heads: Int, _ kv: Int, _ ffn: Int, _ act: String, _ vocab: Int, _ expected: Int) throws {
        let text = minimalSpec.replacingOccurrences(
            of: "  model: {kind: mlp, layers: 1, hiddenSize: 8, vocabSize: 256, sequenceLength: 8}",
            with: "  engine: {kind: prime}\n  model: {kind: \(kind), layers: \(layers), hiddenSize: \(hidden), heads: \(heads), kvHeads: \(kv), ffnHiddenSize: \(ffn), activation: \(act), vocabSize: \(vocab), sequenceLength: 4096}")
        let run = try #require(SpecLoader().load(name: "m.yaml", text: text).validRun)
        #expect(run.spec.model.parameterCount == expected)
    }

    @Test func schemaDocumentCoversEveryField() throws {
        let schema = JSONSchemaGenerator.document()
        #expect(schema["$schema"] as? String == "https://json-schema.org/draft/2020-12/schema")
        let defs = try #require(schema["$defs"] as? [String: Any])
        let site = try #require(defs["Site"] as? [String: Any])
        let properties = try #require(site["properties"] as? [String: Any])
        #expect(Set(properties.keys) == Set(SiteSpec.schema.fieldNames))
        #expect(site["additionalProperties"] as? Bool == false)
    }
}
