import Foundation
import IntermeshControl
import IntermeshPlan
import IntermeshSpec
import IntermeshStore

/// The control plane's operations, over a store and an injected clock; the HTTP layer only translates.
public struct ControlPlane: Sendable {
    public let store: any Store
    public let now: @Sendable () -> Date
    public let members: MemberRegistry
    let plans = PlanCache()

    public init(store: any Store, now: @escaping @Sendable () -> Date = Date.init) {
        self.store = store
        self.now = now
        members = MemberRegistry(store: store)
    }

    public struct Applied: Sendable {
        public var outcome: ApplyOutcome
        public var warnings: [String]
    }

    /// Validates and compiles a spec, then stores it as the run's next revision (or nothing, when unchanged).
    public func apply(specText: String, checkRevision: Int?, by principal: Principal) async throws -> Applied {
        let loaded = SpecLoader().load(name: "spec", text: specText)
        guard let run = loaded.validRun else {
            let errors = loaded.diagnostics.filter(\.isError)
            throw APIError(.unprocessableContent, "invalid_spec", "the spec has \(errors.count) error\(errors.count == 1 ? "" : "s")",
                           details: loaded.diagnostics.map(\.description))
        }
        let plan = Planner.compile(run)
        let request = ApplyRequest(
            run: run.metadata.name, specText: specText,
            canonical: String(decoding: run.canonicalJSON(), as: UTF8.self),
            plan: String(decoding: PlanWriter.json(plan), as: UTF8.self),
            contentHash: run.contentHash, appliedBy: principal.name, checkRevision: checkRevision, now: now())
        do {
            let outcome = try await store.apply(request)
            return Applied(outcome: outcome, warnings: loaded.diagnostics.filter { !$0.isError }.map(\.description))
        } catch let error as StoreError {
            if case let .conflict(current) = error.code {
                throw APIError(.conflict, "conflict", error.message, details: ["current revision: \(current)"])
            }
            throw error
        }
    }

    /// The run's active plan, decoded.
    public func activePlan(of run: RunRecord) async throws -> Plan? {
        try await plans.plan(run: run.name, revision: run.activeRevision) {
            try await store.revision(of: run.name, number: run.activeRevision)?.plan
        }
    }

    public func requireRun(_ name: String) async throws -> RunRecord {
        guard let run = try await store.run(name) else { throw APIError.notFound("no run named \(name)") }
        return run
    }
}
