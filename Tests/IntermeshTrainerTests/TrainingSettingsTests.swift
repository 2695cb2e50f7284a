import Foundation
import IntermeshPlan
import IntermeshSpec
import Testing
@testable import IntermeshTrainer

/// The settings a revision gives a replica, and their exact trip from the leader to the other ranks.
@Suite struct TrainingSettingsTests {
    static func plan(_ edit: (String) -> String = { $0 }) throws -> Plan {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = edit(try String(contentsOf: root.appendingPathComponent("specs/local.yaml"), encoding: .utf8))
        let loaded = SpecLoader().load(name: "local.yaml", text: text)
        return Planner.compile(try #require(loaded.validRun, "\(loaded.diagnostics)"))
    }

    @Test func siteValuesWinOverTheRunsAndTheCommandLineOverBoth() throws {
        let plan = try Self.plan {
            $0.replacingOccurrences(of: "    - name: gamma\n      region: local\n      replicas: 1\n",
                                    with: "    - name: gamma\n      region: local\n      replicas: 1\n      innerLr: 0.01\n      batchSize: 8\n")
        }
        let gamma = TrainingSettings(plan: plan, site: "gamma", revision: 4, outerSteps: 12)
        let alpha = TrainingSettings(plan: plan, site: "alpha", revision: 4, outerSteps: nil)
        #expect(gamma.learningRate.peak == 0.01 && gamma.batchSize == 8)
        #expect(alpha.learningRate.peak == 3e-3 && alpha.batchSize == 16)
        #expect(gamma.outerStepLimit == 12 && gamma.learningRate.totalSteps == 12 * 50)
        #expect(alpha.outerStepLimit == nil)
        #expect(alpha.weights == [0.4, 0.3, 0.3])
        #expect(alpha.checkpointEvery == 5)
    }

    @Test func encodingIsExactAndComplete() throws {
        let plan = try Self.plan {
            $0.replacingOccurrences(of: "lr: 0.7", with: "lr: 0.123456789").replacingOccurrences(of: "kind: cosine", with: "kind: wsd\n        decaySteps: 77")
        }
        let original = TrainingSettings(plan: plan, site: "beta", revision: 9, outerSteps: 30)
        var decoded = TrainingSettings(plan: try Self.plan(), site: "alpha", revision: 1, outerSteps: nil)
        #expect(original.encoded.count == TrainingSettings.encodedCount(sources: 3))
        decoded.decode(original.encoded)
        #expect(decoded == original)
        #expect(decoded.outerLr == 0.123456789)
        #expect(decoded.learningRate.schedule.kind == .wsd && decoded.learningRate.schedule.decaySteps == 77)
    }

    @Test func changesNameWhatMoved() throws {
        let old = TrainingSettings(plan: try Self.plan(), site: "alpha", revision: 1, outerSteps: nil)
        let new = TrainingSettings(plan: try Self.plan { $0.replacingOccurrences(of: "innerSteps: 50", with: "innerSteps: 25") },
                                   site: "alpha", revision: 2, outerSteps: nil)
        #expect(new.changes(from: old) == ["inner_steps": "50 -> 25"])
    }
}
