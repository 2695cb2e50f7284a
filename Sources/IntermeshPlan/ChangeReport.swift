import Foundation
import IntermeshSpec

/// A spec diff with what it does to training: the report `diff -f` and `apply --dry-run` print.
public struct ChangeReport: Codable, Sendable, Equatable {
    public struct Impact: Codable, Sendable, Equatable {
        public var name: String
        public var old: String
        public var new: String
    }

    public var run: String
    /// The revision compared against; nil when the run does not exist yet.
    public var revision: Int?
    public var changes: [SpecChange]
    public var summary: String
    public var impact: [Impact]
    /// Immutable fields with what to do instead; apply refuses while there are any.
    public var refusals: [String]
    /// Per site, the slots whose launch changes (their launch signatures differ): relaunched one at a time.
    public var relaunches: [String: [String]]

    public init(run: String, revision: Int?, old: Plan, new: Plan) {
        let diff = SpecDiff(old: old.run, new: new.run)
        self.run = run
        self.revision = revision
        changes = diff.changes
        summary = diff.summary
        refusals = diff.immutable.map { "\($0.path): \(SpecDiff.advice($0))" }
        impact = Self.impact(old: old, new: new)
        relaunches = new.relaunches(from: old)
    }

    public var differs: Bool { !changes.isEmpty }

    /// Global batch, replicas per site and estimated utilization, where they change.
    static func impact(old: Plan, new: Plan) -> [Impact] {
        var lines: [Impact] = []
        let (before, after) = (globalBatch(old), globalBatch(new))
        if before != after {
            lines.append(Impact(name: "global batch (sequences per inner step)", old: String(before), new: String(after)))
        }
        let names = old.sites.map(\.name) + new.sites.map(\.name).filter { name in !old.sites.contains { $0.name == name } }
        for name in names {
            let a = old.site(named: name)?.replicas.count ?? 0, b = new.site(named: name)?.replicas.count ?? 0
            if a != b { lines.append(Impact(name: "replicas at \(name)", old: String(a), new: String(b))) }
        }
        let (u0, u1) = (percent(old.estimate.utilization), percent(new.estimate.utilization))
        if u0 != u1 { lines.append(Impact(name: "estimated utilization", old: u0, new: u1)) }
        let (h0, h1) = (old.run.spec.training.innerSteps, new.run.spec.training.innerSteps)
        if h0 != h1 { lines.append(Impact(name: "inner steps per outer step (H)", old: String(h0), new: String(h1))) }
        return lines
    }

    static func globalBatch(_ plan: Plan) -> Int {
        plan.run.spec.sites.reduce(0) { $0 + $1.replicas * ($1.batchSize ?? plan.run.spec.training.batchSize) }
    }

    static func percent(_ value: Double) -> String { String(format: "%.1f%%", value * 100) }

    /// The text form: one line per field, sorted, then the summary and the impact.
    public func render(paint: (String, ChangeReportColour) -> String = { text, _ in text }) -> String {
        let against = revision.map { "revision \($0)" } ?? "nothing (a new run)"
        var text = "run \(run): \(against) -> file\n"
        guard differs else { return text + "no changes\n" }
        let width = min(48, changes.map(\.path.count).max() ?? 0)
        for change in changes {
            let value: String
            switch change.kind {
            case .added: value = change.new ?? ""
            case .removed: value = change.old ?? ""
            case .changed: value = "\(change.old ?? "") -> \(change.new ?? "")"
            }
            let colour: ChangeReportColour = change.changeClass == .immutable ? .bad : change.kind == .added ? .good : change.kind == .removed ? .warning : .plain
            let line = "\(change.kind.rawValue) \(change.path.padding(toLength: max(width, change.path.count), withPad: " ", startingAt: 0))  \(value)"
            text += paint(line, colour) + "  " + paint("[\(change.changeClass.label)]", .dim) + "\n"
        }
        text += summary + "\n"
        for line in impact { text += "  \(line.name): \(line.old) -> \(line.new)\n" }
        for (site, slots) in relaunches.sorted(by: { $0.key < $1.key }) {
            text += "  relaunches at \(site): \(slots.joined(separator: ", ")) (their launch changes; one at a time)\n"
        }
        for refusal in refusals { text += paint("cannot apply: \(refusal)", .bad) + "\n" }
        return text
    }
}

/// How a line of a change report may be coloured on a terminal.
public enum ChangeReportColour: Sendable {
    case plain, good, warning, bad, dim
}

extension ChangeReport {
    /// A run that does not exist yet: applying creates it.
    public static func newRun(_ run: String, plan: Plan) -> ChangeReport {
        var report = ChangeReport(run: run, revision: nil, old: plan, new: plan)
        report.changes = [SpecChange(path: "metadata.name", kind: .added, old: nil, new: run, changeClass: .control)]
        report.summary = "a new run: \(plan.totalReplicas) replicas in \(plan.sites.count) sites"
        return report
    }
}
