import Foundation

/// The field-level difference between two specs of one run, each field annotated with its change class.
public struct SpecDiff: Sendable, Codable, Equatable {
    /// Sorted by path.
    public var changes: [SpecChange]

    public init(changes: [SpecChange]) {
        self.changes = changes.sorted { $0.path < $1.path }
    }

    /// Compares two specs by their canonical forms (every default filled in).
    public init(old: TrainingRun, new: TrainingRun) {
        var changes: [SpecChange] = []
        Self.compare(Self.tree(old), Self.tree(new), path: "", membership: new.spec.engine.membership, into: &changes)
        self.init(changes: changes)
    }

    public var isEmpty: Bool { changes.isEmpty }
    public var immutable: [SpecChange] { changes.filter { $0.changeClass == .immutable } }

    /// Sites whose replicas must be relaunched; nil inside means every site.
    public var restartSites: Set<String?> {
        Set(changes.compactMap { if case let .restart(site) = $0.changeClass { return site } else { return nil } })
    }

    /// Sites with site-local hot changes.
    public var siteLocalSites: Set<String> {
        Set(changes.compactMap { if case let .siteLocal(site) = $0.changeClass { return site } else { return nil } })
    }

    public var hasHot: Bool { changes.contains { $0.changeClass == .hot } }

    /// `3 changes: 2 hot, 1 site-local hot`.
    public var summary: String {
        guard !changes.isEmpty else { return "no changes" }
        var counts: [String: Int] = [:]
        var order: [String] = []
        for change in changes.sorted(by: { $0.changeClass < $1.changeClass }) {
            let name = Self.countName(change.changeClass)
            if counts[name] == nil { order.append(name) }
            counts[name, default: 0] += 1
        }
        let parts = order.map { "\(counts[$0]!) \($0)" }.joined(separator: ", ")
        return "\(changes.count) change\(changes.count == 1 ? "" : "s"): \(parts)"
    }

    static func countName(_ changeClass: ChangeClass) -> String {
        switch changeClass {
        case .hot: return "hot"
        case .siteLocal: return "site-local hot"
        case .restart: return "restart"
        case .scale: return "scale"
        case .control: return "control plane only"
        case .immutable: return "immutable"
        }
    }

    // MARK: - Flattening

    /// What launches depend on: every field of the spec whose change forces a restart, as sorted `path=value`
    /// lines; `everySite` for fields that restart every site, `sites` for each site's own. The planner hashes them
    /// into each replica's launch signature, so a field the diff classes as restart and a changed signature are one
    /// and the same thing.
    public static func launchInputs(of run: TrainingRun) -> (everySite: [String], sites: [String: [String]]) {
        var everySite: [String] = []
        var sites: [String: [String]] = [:]
        leaves(tree(run), path: "") { path, value in
            guard case let .restart(scope) = classify(path, membership: run.spec.engine.membership) else { return }
            let line = "\(path)=\(render(value))"
            if let scope { sites[scope, default: []].append(line) } else { everySite.append(line) }
        }
        return (everySite.sorted(), sites.mapValues { $0.sorted() })
    }

    /// Every leaf of a canonical tree with its path, named list entries addressed by name as in `compare`.
    static func leaves(_ value: Any, path: String, _ visit: (String, Any) -> Void) {
        if let object = value as? [String: Any] {
            for (key, child) in object { leaves(child, path: path.isEmpty ? key : "\(path).\(key)", visit) }
        } else if let list = value as? [Any], let byName = named(list) {
            for (key, child) in byName { leaves(child, path: "\(path)[\(key)]", visit) }
        } else {
            visit(path, value)
        }
    }

    static func tree(_ run: TrainingRun) -> Any {
        (try? JSONSerialization.jsonObject(with: run.canonicalJSON(pretty: false))) ?? [:]
    }

    static func compare(_ old: Any?, _ new: Any?, path: String, membership: EngineSpec.Membership, into changes: inout [SpecChange]) {
        switch (old, new) {
        case let (old as [String: Any], new as [String: Any]):
            for key in Set(old.keys).union(new.keys) {
                compare(old[key], new[key], path: path.isEmpty ? key : "\(path).\(key)", membership: membership, into: &changes)
            }
        case let (old as [Any], new as [Any]) where named(old) != nil && named(new) != nil:
            let before = named(old)!, after = named(new)!
            for key in Set(before.keys).union(after.keys) {
                compare(before[key], after[key], path: "\(path)[\(key)]", membership: membership, into: &changes)
            }
        default:
            let oldText = old.map(render), newText = new.map(render)
            guard oldText != newText else { return }
            let kind: SpecChange.Kind = old == nil ? .added : new == nil ? .removed : .changed
            changes.append(SpecChange(path: path, kind: kind, old: oldText, new: newText, changeClass: classify(path, kind: kind, membership: membership)))
        }
    }

    /// A list whose entries are objects with unique names, keyed by name; nil otherwise.
    static func named(_ list: [Any]) -> [String: Any]? {
        var byName: [String: Any] = [:]
        for entry in list {
            guard let object = entry as? [String: Any], let name = object["name"] as? String, byName[name] == nil else { return nil }
            byName[name] = object
        }
        return list.isEmpty ? nil : byName
    }

    static func render(_ value: Any) -> String {
        if let object = value as? [String: Any], let replicas = object["replicas"] as? Int {
            let launcher = (object["launcher"] as? [String: Any])?["kind"] as? String
            return "\(replicas) replica\(replicas == 1 ? "" : "s")" + (launcher.map { ", \($0) launcher" } ?? "")
        }
        if let text = value as? String { return text }
        let data = (try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    // MARK: - Classes

    /// The class of a change at `path` (dotted, named list entries in brackets) for an engine managed with `membership`.
    /// Only engines that speak the native protocol take hot changes: for the others, what the engine reads (training,
    /// data weights, per-site learning rate and batch) needs a restart, and the fault policy is the control plane's own
    /// (its quorum rules and heartbeat timeout for torchft's Lighthouse protocol, its eviction for process liveness).
    public static func classify(_ path: String, kind: SpecChange.Kind = .changed, membership: EngineSpec.Membership = .native) -> ChangeClass {
        let native = classify(path, kind: kind)
        guard !membership.takesHotChanges else { return native }
        switch native {
        case .hot: return path.hasPrefix("spec.faultPolicy.") ? .control : .restart(site: nil)
        case let .siteLocal(site): return .restart(site: site)
        default: return native
        }
    }

    static func classify(_ path: String, kind: SpecChange.Kind) -> ChangeClass {
        if path == "apiVersion" || path == "kind" || path == "metadata.name" { return .immutable }
        if path.hasPrefix("metadata.") { return .control }
        if path.hasPrefix("spec.model") || path == "spec.engine.kind" || path == "spec.engine.membership" || path == "spec.training.seed" {
            return .immutable
        }
        if path.hasPrefix("spec.sites[") {
            let rest = path.dropFirst("spec.sites[".count)
            guard let close = rest.firstIndex(of: "]") else { return .restart(site: nil) }
            let site = String(rest[..<close])
            let field = String(rest[rest.index(after: close)...])
            switch field {
            case "", ".replicas": return .scale(site: site)
            case ".innerLr", ".batchSize": return .siteLocal(site: site)
            case ".region", ".bandwidth": return .control
            default: return .restart(site: site)
            }
        }
        if path == "spec.training.checkpoint.path" { return .restart(site: nil) }
        if path.hasPrefix("spec.training.") { return .hot }
        if path.hasPrefix("spec.data.mix["), path.hasSuffix("].weight") { return .hot }
        if path.hasPrefix("spec.faultPolicy.") { return .hot }
        if path.hasPrefix("spec.rollout.") || path.hasPrefix("spec.estimate.") { return .control }
        // Engine, data sources, network: what every launch depends on.
        return .restart(site: nil)
    }

    /// What to do instead of an immutable change.
    public static func advice(_ change: SpecChange) -> String {
        if change.path == "metadata.name" { return "a new name is a new run: apply it as one" }
        if change.path.hasPrefix("spec.model") {
            return "the model's architecture is fixed for a run's life: start a new run (a new metadata.name), from a checkpoint if wanted"
        }
        return "start a new run with a new metadata.name"
    }
}
