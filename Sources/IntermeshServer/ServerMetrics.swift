import Foundation
import Metrics
import Prometheus

/// The control plane's metrics in Prometheus' text format, at `GET /v1/metrics` (any token):
/// - `http_server_request_duration` (histogram, seconds), `hb_requests`, `hb_request_errors` (counters),
///   `http_server_active_requests`: requests by route, method and status (Hummingbird's `MetricsMiddleware`);
/// - `intermesh_reconcile_pass_seconds{kind="full"|"check"}`: reconcile passes per run, full ones and those that
///   only checked the membership index;
/// - `intermesh_members{run}`: members the registry holds; `intermesh_heartbeat_members_total{run}`: member
///   heartbeats received; `intermesh_evictions_total{run}`; `intermesh_quorums_formed_total{run}`.
public enum ServerMetrics {
    /// The process's registry; the first use bootstraps swift-metrics with it (once per process).
    public static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Finer than the default at the low end: heartbeats are answered in milliseconds.
        factory.defaultDurationHistogramBuckets = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
            .seconds(5), .seconds(10), .seconds(30),
        ]
        MetricsSystem.bootstrap(factory)
        return registry
    }()

    /// The text a scrape gets.
    public static func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }

    static func reconcilePass(full: Bool) -> Metrics.Timer {
        Metrics.Timer(label: "intermesh_reconcile_pass_seconds", dimensions: [("kind", full ? "full" : "check")])
    }

    static func members(run: String) -> Metrics.Gauge {
        Metrics.Gauge(label: "intermesh_members", dimensions: [("run", run)])
    }

    static func heartbeatMembers(run: String) -> Metrics.Counter {
        Metrics.Counter(label: "intermesh_heartbeat_members_total", dimensions: [("run", run)])
    }

    static func dataPlaneRejected(run: String) -> Metrics.Counter {
        Metrics.Counter(label: "intermesh_dataplane_rejected_total", dimensions: [("run", run)])
    }

    static func evictions(run: String) -> Metrics.Counter {
        Metrics.Counter(label: "intermesh_evictions_total", dimensions: [("run", run)])
    }

    static func quorumsFormed(run: String) -> Metrics.Counter {
        Metrics.Counter(label: "intermesh_quorums_formed_total", dimensions: [("run", run)])
    }
}
