import Foundation
import Testing
@testable import IntermeshSpec

/// Which engines may be managed how, and what each way of management can change without a restart.
@Suite struct EngineMembershipTests {
    static func engine(_ lines: String) -> String {
        minimalSpec.replacingOccurrences(of: "spec:\n", with: "spec:\n  engine:\n" + lines)
    }

    @Test(arguments: [
        ("    kind: reference\n", EngineSpec.Membership.native),
        ("    kind: torchft\n    entrypoint: train.py\n", .torchft),
        ("    kind: torchrun\n    entrypoint: train.py\n", .process),
        ("    kind: command\n    entrypoint: ./serve.sh\n", .process),
        ("    kind: prime\n", .process),
        ("    kind: torchrun\n    entrypoint: train.py\n    membership: torchft\n", .torchft),
        ("    kind: command\n    entrypoint: ./train.sh\n    membership: torchft\n", .torchft),
        ("    kind: torchft\n    entrypoint: train.py\n    membership: process\n", .process),
    ])
    func defaultsAndAllowed(lines: String, expected: EngineSpec.Membership) throws {
        let loaded = SpecLoader().load(name: "spec.yaml", text: Self.engine(lines))
        let run = try #require(loaded.validRun, "\(loaded.diagnostics)")
        #expect(run.spec.engine.membership == expected)
    }

    @Test(arguments: [
        ("    kind: reference\n    membership: process\n", "membership is 'native'"),
        ("    kind: torchrun\n    entrypoint: train.py\n    membership: native\n", "only the reference engine speaks"),
        ("    kind: prime\n    membership: torchft\n", "PRIME as released"),
        ("    kind: command\n", "needs 'entrypoint'"),
        ("    kind: reference\n    membership: raft\n", "membership"),
    ])
    func refused(lines: String, message: String) {
        let loaded = SpecLoader().load(name: "spec.yaml", text: Self.engine(lines))
        #expect(loaded.validRun == nil)
        #expect(loaded.diagnostics.contains { $0.isError && $0.description.contains(message) }, "\(loaded.diagnostics)")
    }

    /// `faultPolicy.orphanTimeout`: only an engine that speaks the protocol can honour it, and it outlasts a
    /// heartbeat timeout; unset, it stays out of the canonical form (specs keep their content hash).
    @Test(arguments: [
        ("    kind: reference\n", "", nil as String?),
        ("    kind: reference\n", "  faultPolicy: {orphanTimeout: 2m}\n", nil),
        ("    kind: reference\n", "  faultPolicy: {orphanTimeout: 10s}\n", "orphanTimeout 10s must be longer than heartbeatTimeout 10s"),
        ("    kind: torchft\n    entrypoint: train.py\n", "  faultPolicy: {orphanTimeout: 2m}\n", "orphanTimeout is honoured by engines that speak Intermesh's protocol"),
        ("    kind: prime\n", "  faultPolicy: {orphanTimeout: 2m}\n", "this engine's membership is process"),
    ])
    func orphanTimeout(engine: String, policy: String, error: String?) throws {
        let loaded = SpecLoader().load(name: "spec.yaml", text: Self.engine(engine) + policy)
        guard let error else {
            let run = try #require(loaded.validRun, "\(loaded.diagnostics)")
            #expect(run.spec.faultPolicy.orphanTimeout == (policy.isEmpty ? nil : .seconds(120)))
            #expect(String(decoding: run.canonicalJSON(), as: UTF8.self).contains("orphanTimeout") == !policy.isEmpty)
            return
        }
        #expect(loaded.validRun == nil)
        #expect(loaded.diagnostics.contains { $0.isError && $0.description.contains(error) }, "\(loaded.diagnostics)")
    }

    /// `faultPolicy.disconnectGrace`: above zero, and the slot it holds must end before a cut-off replica of an engine
    /// that speaks the protocol stops itself (orphanTimeout); unset, it stays out of the canonical form.
    @Test(arguments: [
        ("    kind: reference\n", "  faultPolicy: {disconnectGrace: 1m}\n", nil as String?),
        ("    kind: reference\n", "  faultPolicy: {disconnectGrace: 0s}\n", "disconnectGrace must be above 0"),
        ("    kind: reference\n", "  faultPolicy: {disconnectGrace: 10m}\n",
         "heartbeatTimeout 10s plus disconnectGrace 10m must be shorter than orphanTimeout 10m"),
        ("    kind: reference\n", "  faultPolicy: {disconnectGrace: 10m, orphanTimeout: 20m}\n", nil),
        // torchft replicas do not stop themselves: any grace is theirs to keep.
        ("    kind: torchft\n    entrypoint: train.py\n", "  faultPolicy: {disconnectGrace: 1h}\n", nil),
    ])
    func disconnectGrace(engine: String, policy: String, error: String?) throws {
        let loaded = SpecLoader().load(name: "spec.yaml", text: Self.engine(engine) + policy)
        guard let error else {
            let run = try #require(loaded.validRun, "\(loaded.diagnostics)")
            #expect(run.spec.faultPolicy.disconnectGrace != nil)
            #expect(String(decoding: run.canonicalJSON(), as: UTF8.self).contains("disconnectGrace"))
            return
        }
        #expect(loaded.validRun == nil)
        #expect(loaded.diagnostics.contains { $0.isError && $0.description.contains(error) }, "\(loaded.diagnostics)")
    }

    @Test(arguments: [
        ("spec.training.innerSteps", ChangeClass.hot, ChangeClass.restart(site: nil)),
        ("spec.training.outerOptimizer.lr", .hot, .restart(site: nil)),
        ("spec.data.mix[prose].weight", .hot, .restart(site: nil)),
        ("spec.sites[gamma].innerLr", .siteLocal(site: "gamma"), .restart(site: "gamma")),
        ("spec.faultPolicy.minReplicas", .hot, .control),
        ("spec.faultPolicy.heartbeatTimeout", .hot, .control),
        ("spec.sites[beta].replicas", .scale(site: "beta"), .scale(site: "beta")),
        ("spec.rollout.leadSteps", .control, .control),
        ("spec.engine.membership", .immutable, .immutable),
    ])
    func onlyNativeEnginesTakeHotChanges(path: String, native: ChangeClass, other: ChangeClass) {
        #expect(SpecDiff.classify(path, membership: .native) == native)
        #expect(SpecDiff.classify(path, membership: .torchft) == other)
        #expect(SpecDiff.classify(path, membership: .process) == other)
    }

    @Test func aTrainingChangeOfATorchftRunIsARestart() throws {
        let old = try #require(SpecLoader().load(name: "a", text: Self.engine("    kind: torchft\n    entrypoint: train.py\n")).validRun)
        let text = Self.engine("    kind: torchft\n    entrypoint: train.py\n") + "  training:\n    innerSteps: 7\n"
        let new = try #require(SpecLoader().load(name: "b", text: text).validRun, "\(SpecLoader().load(name: "b", text: text).diagnostics)")
        let diff = SpecDiff(old: old, new: new)
        // The checkpoint interval follows innerSteps by default.
        #expect(diff.changes.map(\.path) == ["spec.training.checkpoint.interval", "spec.training.innerSteps"])
        #expect(diff.restartSites == [nil])
        #expect(!diff.hasHot)
        // What the diff classes as restart is what launches depend on.
        #expect(SpecDiff.launchInputs(of: new).everySite.contains("spec.training.innerSteps=7"))
    }

    @Test func canonicalSpecsStoredBeforeMembershipReadAsTheEngineDefault() throws {
        let run = try #require(SpecLoader().load(name: "a", text: Self.engine("    kind: torchft\n    entrypoint: train.py\n")).validRun)
        var object = try #require(try JSONSerialization.jsonObject(with: run.canonicalJSON()) as? [String: Any])
        var spec = try #require(object["spec"] as? [String: Any])
        var engine = try #require(spec["engine"] as? [String: Any])
        engine["membership"] = nil
        spec["engine"] = engine
        object["spec"] = spec
        let decoded = try JSONDecoder().decode(TrainingRun.self, from: JSONSerialization.data(withJSONObject: object))
        #expect(decoded.spec.engine.membership == .torchft)
    }
}
