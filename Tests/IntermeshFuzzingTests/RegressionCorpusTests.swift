import Foundation
import Testing
@testable import IntermeshFuzzing

/// Replays the inputs the fuzzers found (crashes since fixed, and a minimised corpus of interesting inputs) through
/// the same checks libFuzzer ran: `Tests/FuzzCorpus/TARGET/`.
@Suite struct RegressionCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("FuzzCorpus")

    static func inputs(_ target: FuzzTarget) throws -> [URL] {
        let directory = corpus.appendingPathComponent(target.rawValue)
        return try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    @Test(arguments: FuzzTarget.allCases)
    func everyKeptInputPasses(_ target: FuzzTarget) throws {
        let inputs = try Self.inputs(target)
        #expect(inputs.count >= 10, "the \(target.rawValue) corpus is missing")
        for input in inputs {
            let failure = target.check(try Data(contentsOf: input))
            #expect(failure == nil, "\(input.lastPathComponent): \(failure ?? "")")
        }
    }

    @Test func theSpecPropertiesCatchAMissingError() {
        // A document that decodes to nothing must say why; the check passes for the loader's real answer.
        #expect(FuzzTarget.spec.check(Data("kind: [".utf8)) == nil)
        #expect(FuzzTarget.spec.check(Data([0xFF, 0xFE, 0x00])) == nil)
    }

    @Test func theAPIBodiesRoundTrip() {
        // Selector 0 is ApplyBody.
        #expect(FuzzTarget.api.check(Data([0]) + Data(#"{"spec":"a","checkRevision":3}"#.utf8)) == nil)
        #expect(FuzzTarget.api.check(Data([1]) + Data(#"{"members":[{"id":"m-1","slot":"a/0","state":"training"}]}"#.utf8)) == nil)
        #expect(FuzzTarget.api.check(Data([2]) + Data("not json".utf8)) == nil)
    }
}
