import Foundation

/// The OpenAPI 3.1 description of the API, served at /v1/openapi.json.
enum OpenAPIDocument {
    static let json: String = {
        func op(_ summary: String, _ role: String, body: String? = nil, responses: [String: String]) -> [String: Any] {
            var out: [String: Any] = [
                "summary": summary, "description": "Requires a \(role) token.",
                "responses": responses.mapValues { ["description": $0] },
            ]
            if let body {
                out["requestBody"] = ["required": true, "content": ["application/json": ["schema": ["$ref": "#/components/schemas/\(body)"]]]]
            }
            return out
        }
        let runParameter: [String: Any] = ["name": "run", "in": "path", "required": true, "schema": ["type": "string"]]
        let errors = ["400": "Malformed request", "401": "Missing or invalid token", "403": "Token not allowed", "404": "Not found"]
        let paths: [String: Any] = [
            "/v1/metrics": ["get": op("The control plane's metrics in Prometheus' text format: requests by route and status, reconcile passes, members, heartbeats, evictions, quorums", "viewer",
                                      responses: ["200": "Prometheus text format 0.0.4", "401": "Missing or invalid token"])],
            "/v1/server": ["get": op("Which server answered and which one is active: single (its own store), active or standby (a shared PostgreSQL store)", "viewer",
                                     responses: ["200": "Server role and addresses", "401": "Missing or invalid token", "503": "A standby: the body names the active server"])],
            "/v1/whoami": ["get": op("The caller's token: id, role and scope (the console shows only what the role may do)", "any",
                                     responses: ["200": "Token id, role and scope", "401": "Missing or invalid token"])],
            "/v1/runs/{run}/view": ["parameters": [runParameter], "get": op("A run as the console draws it: phase, conditions, per site each replica slot's newest member and health (live, disconnected, lost, leaving, missing, quarantined), the rollout with its canary gate. With watch=true: server-sent events, `view` when it changes (at least every 5 s) and `series` when a point is added", "viewer", responses: ["200": "Run view"].merging(errors) { a, _ in a })],
            "/v1/runs/{run}/series": ["parameters": [runParameter], "get": op("What the control plane kept of members' reports (in memory, the last 500 points of each series): training loss per slot, evaluation loss per data source, quorum size and time per outer step", "viewer", responses: ["200": "Series"].merging(errors) { a, _ in a })],
            "/v1/runs": [
                "get": op("List runs", "viewer", responses: ["200": "Run summaries"].merging(errors) { a, _ in a }),
                "post": op("Apply a spec: create a run or add a revision; identical content is a no-op", "operator", body: "ApplyBody",
                           responses: ["200": "Updated or unchanged", "201": "Created", "409": "checkRevision differs from the current revision",
                                       "413": "Body too large", "422": "Invalid spec, with compiler-style diagnostics, or a change of an immutable field (code immutable_field)"].merging(errors) { a, _ in a }),
            ],
            "/v1/runs/{run}": [
                "parameters": [runParameter],
                "get": op("Describe a run: phase, conditions, active revision, outer step, per-site summary", "viewer", responses: ["200": "Description"].merging(errors) { a, _ in a }),
                "delete": op("Delete a run with its revisions and events", "operator", responses: ["200": "Deleted"].merging(errors) { a, _ in a }),
            ],
            "/v1/runs/{run}/stop": ["parameters": [runParameter], "post": op("Stop a run (its members drain)", "operator", responses: ["200": "Stopped"].merging(errors) { a, _ in a })],
            "/v1/runs/{run}/resume": ["parameters": [runParameter], "post": op("Start a stopped or failed run again (its agents relaunch its replicas, which resume from checkpoints)", "operator", responses: ["200": "Running"].merging(errors) { a, _ in a })],
            "/v1/runs/{run}/revisions": ["parameters": [runParameter], "get": op("Revision history", "viewer", responses: ["200": "Revisions"].merging(errors) { a, _ in a })],
            "/v1/runs/{run}/revisions/{number}": [
                "parameters": [runParameter, ["name": "number", "in": "path", "required": true, "schema": ["type": "integer"]]],
                "get": op("One revision: spec text, canonical form, plan, content hash. An agent token reads its site's view: the plan with the other sites reduced to their replicas' addresses, no spec text", "viewer", responses: ["200": "Revision"].merging(errors) { a, _ in a }),
            ],
            "/v1/runs/{run}/events": [
                "parameters": [runParameter, ["name": "after", "in": "query", "schema": ["type": "integer"]], ["name": "limit", "in": "query", "schema": ["type": "integer"]]],
                "get": op("Events after an id", "viewer", responses: ["200": "Events"].merging(errors) { a, _ in a }),
            ],
            "/v1/runs/{run}/sites/{site}/plan": [
                "parameters": [runParameter, ["name": "site", "in": "path", "required": true, "schema": ["type": "string"]]],
                "get": op("The active plan of one site, for its agent", "agent (of that run and site)", responses: ["200": "Site plan"].merging(errors) { a, _ in a }),
            ],
            "/v1/runs/{run}/members": ["parameters": [runParameter], "get": op("Live members: slot, state, outer step, revision, last heartbeat", "viewer", responses: ["200": "Members"].merging(errors) { a, _ in a })],
            "/v1/runs/{run}/diff": ["parameters": [runParameter], "get": op("Desired against actual per site", "viewer", responses: ["200": "Diff"].merging(errors) { a, _ in a })],
            "/v1/runs/{run}/sites/{site}/heartbeats": [
                "parameters": [runParameter, ["name": "site", "in": "path", "required": true, "schema": ["type": "string"]]],
                "post": op("Register and heartbeat a site's members (batched); the answer carries the active revision and directives", "agent (of that run and site)", responses: ["200": "Revision and directives"].merging(errors) { a, _ in a }),
            ],
            "/v1/runs/{run}/sites/{site}/quorum": [
                "parameters": [runParameter, ["name": "site", "in": "path", "required": true, "schema": ["type": "string"]]],
                "post": op("Long-poll (10 s) for outer step k's quorum: formed, missed or waiting", "agent (of that run and site)", responses: ["200": "Quorum"].merging(errors) { a, _ in a }),
            ],
            "/v1/runs/{run}/sites/{site}/intent": [
                "parameters": [runParameter, ["name": "site", "in": "path", "required": true, "schema": ["type": "string"]]],
                "post": op("A recovered member announces the outer step it joins: that step's quorum waits for it", "agent (of that run and site)", responses: ["200": "The step"].merging(errors) { a, _ in a }),
            ],
            "/v1/runs/{run}/sites/{site}/schedule": [
                "parameters": [runParameter, ["name": "site", "in": "path", "required": true, "schema": ["type": "string"]],
                               ["name": "after", "in": "query", "schema": ["type": "integer"], "description": "The schedule version the member has; answered at once when it differs"],
                               ["name": "wait", "in": "query", "schema": ["type": "integer", "minimum": 0, "maximum": 60], "description": "Seconds to hold the request (default 30)"]],
                "get": op("Long-poll for the site's revision schedule: answered when an apply, activation, promotion or revert changes it, or after wait seconds", "agent (of that run and site)", responses: ["200": "Version, active revision and schedule"].merging(errors) { a, _ in a }),
            ],
            "/v1/runs/{run}/sites/{site}/data-key": [
                "parameters": [runParameter, ["name": "site", "in": "path", "required": true, "schema": ["type": "string"]]],
                "get": op("The run's data-plane key: its replicas tag ring and recovery traffic with it (never logged or cached)", "agent (of that run and site)", responses: ["200": "Key (hex)"].merging(errors) { a, _ in a }),
            ],
            "/v1/runs/{run}/sites/{site}/donor": [
                "parameters": [runParameter, ["name": "site", "in": "path", "required": true, "schema": ["type": "string"]]],
                "post": op("An up-to-date live member to recover from, spread over donors", "agent (of that run and site)", responses: ["200": "Donor"].merging(errors) { a, _ in a }),
            ],
            "/v1/runs/{run}/rollout": ["parameters": [runParameter], "get": op("The current rollout: strategy, phase, activation step, and per site the members that acknowledged and activated it", "viewer", responses: ["200": "Rollout status"].merging(errors) { a, _ in a })],
            "/v1/runs/{run}/rollout/history": ["parameters": [runParameter], "get": op("Revisions with who applied them, when, the changes against the revision before, and how their rollout ended", "viewer", responses: ["200": "History"].merging(errors) { a, _ in a })],
            "/v1/runs/{run}/rollout/pause": ["parameters": [runParameter], "post": op("Hold rollouts: no new activation step, promotion or relaunch", "operator", responses: ["200": "Rollout status"].merging(errors) { a, _ in a })],
            "/v1/runs/{run}/rollout/resume": ["parameters": [runParameter], "post": op("Let rollouts go on", "operator", responses: ["200": "Rollout status"].merging(errors) { a, _ in a })],
            "/v1/runs/{run}/rollout/promote": ["parameters": [runParameter], "post": op("Take a canary to every site now", "operator", responses: ["200": "Rollout status", "409": "No canary is waiting"].merging(errors) { a, _ in a })],
            "/v1/runs/{run}/rollout/undo": ["parameters": [runParameter], "post": op("A new revision equal to an earlier one (toRevision, default the one before), rolled out the same way", "operator", body: "UndoBody", responses: ["200": "The new revision", "409": "Already the active content"].merging(errors) { a, _ in a })],
            "/v1/runs/{run}/sites/{site}/agent": [
                "parameters": [runParameter, ["name": "site", "in": "path", "required": true, "schema": ["type": "string"]]],
                "post": op("An agent's tick: report launches and exits (with exit codes and last log lines); the answer carries the run's phase, active revision and the site's launch and stop directives", "agent (of that run and site)", responses: ["200": "Phase, revision and directives"].merging(errors) { a, _ in a }),
            ],
            "/v1/tokens": [
                "post": op("Create a token (shown once); an agent token's run and site must exist", "admin", body: "TokenRequest", responses: ["201": "Token"].merging(errors) { a, _ in a }),
                "get": op("List tokens: id, role, scope, creation and expiry, never the secret", "admin", responses: ["200": "Tokens"].merging(errors) { a, _ in a }),
            ],
            "/v1/tokens/{id}": [
                "parameters": [["name": "id", "in": "path", "required": true, "schema": ["type": "string"]]],
                "delete": op("Revoke a token: its next request gets 401", "admin", responses: ["200": "Revoked"].merging(errors) { a, _ in a }),
            ],
        ]
        let document: [String: Any] = [
            "openapi": "3.1.0",
            "info": ["title": "Intermesh control plane", "version": "1"],
            "components": [
                "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer"]],
                "schemas": [
                    "ApplyBody": ["type": "object", "required": ["spec"], "properties": [
                        "spec": ["type": "string", "description": "The run spec, YAML text"],
                        "checkRevision": ["type": "integer", "description": "Refuse with 409 unless this is the current revision (0: the run must be new)"],
                    ]],
                    "UndoBody": ["type": "object", "properties": [
                        "toRevision": ["type": "integer", "description": "The revision to restore; default: the one the active revision's rollout started from"],
                    ]],
                    "TokenRequest": ["type": "object", "required": ["role"], "properties": [
                        "role": ["enum": ["admin", "operator", "viewer", "agent"]],
                        "run": ["type": "string"], "site": ["type": "string"], "description": ["type": "string", "maxLength": 1024],
                        "ttlSeconds": ["type": "integer", "minimum": 1, "maximum": 316_224_000, "description": "Seconds until the token expires; without it, it does not"],
                    ]],
                ],
            ],
            "security": [["bearer": []]],
            "paths": paths,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }()
}
