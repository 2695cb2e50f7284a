/// The paths of `/v1`, written once for every client. Run and site names are DNS labels (the spec validates them),
/// so they need no escaping.
public enum Endpoint {
    public static let runs = "/v1/runs"
    public static let tokens = "/v1/tokens"
    public static let metrics = "/v1/metrics"
    public static let openAPI = "/v1/openapi.json"

    public static func token(_ id: String) -> String { "/v1/tokens/\(id)" }
    public static func run(_ run: String) -> String { "/v1/runs/\(run)" }
    public static func stop(_ run: String) -> String { "/v1/runs/\(run)/stop" }
    public static func resume(_ run: String) -> String { "/v1/runs/\(run)/resume" }
    public static func revisions(_ run: String) -> String { "/v1/runs/\(run)/revisions" }
    public static func revision(_ run: String, _ number: Int) -> String { "/v1/runs/\(run)/revisions/\(number)" }
    public static func members(_ run: String) -> String { "/v1/runs/\(run)/members" }
    public static func diff(_ run: String) -> String { "/v1/runs/\(run)/diff" }
    public static func rollout(_ run: String) -> String { "/v1/runs/\(run)/rollout" }
    public static func rolloutHistory(_ run: String) -> String { "/v1/runs/\(run)/rollout/history" }
    public static func rollout(_ run: String, _ verb: RolloutVerb) -> String { "/v1/runs/\(run)/rollout/\(verb.rawValue)" }
    public static func undo(_ run: String) -> String { "/v1/runs/\(run)/rollout/undo" }

    /// Events after an id; `follow` streams them as server-sent events.
    public static func events(_ run: String, after: Int64 = 0, limit: Int? = nil, follow: Bool = false) -> String {
        var query = ["after=\(after)"]
        if let limit { query.append("limit=\(limit)") }
        if follow { query.append("follow=true") }
        return "/v1/runs/\(run)/events?" + query.joined(separator: "&")
    }

    /// What a site's agents and members call.
    public static func site(_ run: String, _ site: String, _ call: SiteCall) -> String {
        "/v1/runs/\(run)/sites/\(site)/\(call.rawValue)"
    }

    /// Long-polls a site's revision schedule: answered when its version differs from `after`, or after `wait` seconds.
    public static func schedule(_ run: String, _ site: String, after: Int, wait: Int) -> String {
        Self.site(run, site, .schedule) + "?after=\(after)&wait=\(wait)"
    }

    public enum SiteCall: String, Sendable {
        case plan, heartbeats, quorum, intent, donor, agent, schedule
        case dataKey = "data-key"
    }
}
