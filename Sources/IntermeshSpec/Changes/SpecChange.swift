import Foundation

/// What a change of one field costs a live run (the change classes of the design).
public enum ChangeClass: Sendable, Hashable, Codable, Comparable {
    public static func < (lhs: ChangeClass, rhs: ChangeClass) -> Bool {
        (lhs.rank, lhs.site ?? "") < (rhs.rank, rhs.site ?? "")
    }

    /// Most disruptive last.
    var rank: Int {
        switch self {
        case .control: return 0
        case .hot: return 1
        case .siteLocal: return 2
        case .scale: return 3
        case .restart: return 4
        case .immutable: return 5
        }
    }

    /// Every replica switches at the next activation step, without a restart.
    case hot
    /// Differs per site and can be canaried on some sites first.
    case siteLocal(site: String)
    /// The site's replicas are relaunched one at a time; nil: every site's.
    case restart(site: String?)
    /// Replicas are launched or drained at a boundary; nothing else changes.
    case scale(site: String)
    /// Read only by the control plane; takes effect at once.
    case control
    /// Cannot change within a run.
    case immutable

    public var label: String {
        switch self {
        case .hot: return "hot"
        case let .siteLocal(site): return "site-local hot (\(site))"
        case let .restart(site): return site.map { "restart of site \($0)" } ?? "restart of every site"
        case let .scale(site): return "scale of site \(site)"
        case .control: return "control plane only"
        case .immutable: return "immutable"
        }
    }

    /// One word for scripts.
    public var kind: String {
        switch self {
        case .hot: return "hot"
        case .siteLocal: return "site-local"
        case .restart: return "restart"
        case .scale: return "scale"
        case .control: return "control"
        case .immutable: return "immutable"
        }
    }

    public var site: String? {
        switch self {
        case let .siteLocal(site), let .scale(site): return site
        case let .restart(site): return site
        default: return nil
        }
    }
}

/// One changed field of a spec: `+` added, `-` removed, `~` changed.
public struct SpecChange: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable {
        case added = "+"
        case removed = "-"
        case changed = "~"
    }

    /// `spec.sites[gamma].innerLr`: list entries with names are addressed by name.
    public var path: String
    public var kind: Kind
    public var old: String?
    public var new: String?
    public var changeClass: ChangeClass

    public init(path: String, kind: Kind, old: String?, new: String?, changeClass: ChangeClass) {
        self.path = path
        self.kind = kind
        self.old = old
        self.new = new
        self.changeClass = changeClass
    }

    enum CodingKeys: String, CodingKey {
        case path, kind, old, new, changeClass = "class", site
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(path, forKey: .path)
        try container.encode(kind, forKey: .kind)
        try container.encodeIfPresent(old, forKey: .old)
        try container.encodeIfPresent(new, forKey: .new)
        try container.encode(changeClass.kind, forKey: .changeClass)
        try container.encodeIfPresent(changeClass.site, forKey: .site)
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        path = try container.decode(String.self, forKey: .path)
        kind = try container.decode(Kind.self, forKey: .kind)
        old = try container.decodeIfPresent(String.self, forKey: .old)
        new = try container.decodeIfPresent(String.self, forKey: .new)
        let site = try container.decodeIfPresent(String.self, forKey: .site)
        switch try container.decode(String.self, forKey: .changeClass) {
        case "hot": changeClass = .hot
        case "site-local": changeClass = .siteLocal(site: site ?? "")
        case "restart": changeClass = .restart(site: site)
        case "scale": changeClass = .scale(site: site ?? "")
        case "control": changeClass = .control
        default: changeClass = .immutable
        }
    }
}
