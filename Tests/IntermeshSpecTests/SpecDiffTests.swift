import Foundation
import Testing
@testable import IntermeshSpec

/// The change class of each kind of field, and the diff's shape.
@Suite struct SpecDiffTests {
    @Test(arguments: [
        ("spec.training.outerOptimizer.lr", ChangeClass.hot),
        ("spec.training.outerOptimizer.momentum", .hot),
        ("spec.training.innerSteps", .hot),
        ("spec.training.innerOptimizer.schedule.kind", .hot),
        ("spec.training.checkpoint.interval", .hot),
        ("spec.training.checkpoint.path", .restart(site: nil)),
        ("spec.data.mix[prose].weight", .hot),
        ("spec.data.mix[prose].path", .restart(site: nil)),
        ("spec.data.mix[wiki]", .restart(site: nil)),
        ("spec.faultPolicy.heartbeatTimeout", .hot),
        ("spec.sites[gamma].innerLr", .siteLocal(site: "gamma")),
        ("spec.sites[gamma].batchSize", .siteLocal(site: "gamma")),
        ("spec.sites[beta].env.NCCL_DEBUG", .restart(site: "beta")),
        ("spec.sites[beta].launcher.hosts", .restart(site: "beta")),
        ("spec.sites[beta].ranksPerReplica", .restart(site: "beta")),
        ("spec.sites[beta].replicas", .scale(site: "beta")),
        ("spec.sites[delta]", .scale(site: "delta")),
        ("spec.sites[beta].bandwidth", .control),
        ("spec.rollout.leadSteps", .control),
        ("spec.estimate.mfu", .control),
        ("metadata.labels.team", .control),
        ("metadata.name", .immutable),
        ("spec.model.hiddenSize", .immutable),
        ("spec.engine.kind", .immutable),
        ("spec.training.seed", .immutable),
        ("spec.engine.entrypoint", .restart(site: nil)),
        ("spec.network.basePort", .restart(site: nil)),
    ])
    func classes(path: String, expected: ChangeClass) {
        #expect(SpecDiff.classify(path) == expected, "\(path)")
    }

    static func run(_ edit: (String) -> String = { $0 }) throws -> TrainingRun {
        let text = edit(try String(contentsOfFile: Repo.path("specs/local.yaml"), encoding: .utf8))
        let loaded = SpecLoader().load(name: "local.yaml", text: text)
        return try #require(loaded.validRun, "\(loaded.diagnostics)")
    }

    @Test func sameSpecHasNoChanges() throws {
        let diff = SpecDiff(old: try Self.run(), new: try Self.run())
        #expect(diff.isEmpty)
        #expect(diff.summary == "no changes")
    }

    @Test func changesAreSortedWithOldAndNewValues() throws {
        let new = try Self.run { $0.replacingOccurrences(of: "lr: 0.7", with: "lr: 0.5").replacingOccurrences(of: "innerSteps: 50", with: "innerSteps: 25") }
        let diff = SpecDiff(old: try Self.run(), new: new)
        #expect(diff.changes.map(\.path) == ["spec.training.innerSteps", "spec.training.outerOptimizer.lr"])
        #expect(diff.changes[1].old == "0.7" && diff.changes[1].new == "0.5" && diff.changes[1].kind == .changed)
        #expect(diff.summary == "2 changes: 2 hot")
        #expect(diff.hasHot && diff.immutable.isEmpty && diff.restartSites.isEmpty)
    }

    static let gammaBlock = "    - name: gamma\n      region: local\n      replicas: 1\n      bandwidth: 500Mbps\n      launcher:\n        kind: local\n"

    @Test func sitesAreMatchedByNameNotPosition() throws {
        // gamma moves to the front of the list: nothing changes.
        let moved = try Self.run {
            $0.replacingOccurrences(of: Self.gammaBlock, with: "").replacingOccurrences(of: "  sites:\n", with: "  sites:\n" + Self.gammaBlock)
        }
        #expect(moved.spec.sites.first?.name == "gamma")
        #expect(SpecDiff(old: try Self.run(), new: moved).isEmpty)
    }

    @Test func aNewSiteIsOneEntry() throws {
        let new = try Self.run { $0.replacingOccurrences(of: Self.gammaBlock, with: Self.gammaBlock + "    - name: delta\n      replicas: 2\n") }
        let diff = SpecDiff(old: try Self.run(), new: new)
        #expect(diff.changes.count == 1)
        #expect(diff.changes.first?.path == "spec.sites[delta]")
        #expect(diff.changes.first?.kind == .added)
        #expect(diff.changes.first?.new == "2 replicas, local launcher")
        #expect(diff.changes.first?.changeClass == .scale(site: "delta"))
    }

    @Test func jsonRoundTripKeepsTheClass() throws {
        let change = SpecChange(path: "spec.sites[beta].env.X", kind: .added, old: nil, new: "1", changeClass: .restart(site: "beta"))
        let decoded = try JSONDecoder().decode(SpecChange.self, from: try JSONEncoder().encode(change))
        #expect(decoded == change)
    }
}
