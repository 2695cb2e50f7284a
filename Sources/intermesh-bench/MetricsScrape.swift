import Foundation
import IntermeshAPI
import IntermeshClient

/// One scrape of the server's `/v1/metrics`: each series' value by its name and labels.
struct MetricsScrape {
    var series: [String: Double]

    static func take(_ api: APIClient) async throws -> MetricsScrape {
        MetricsScrape(series: try await api.metrics())
    }

    /// The sum of every series of `name` whose labels contain `matching`, e.g. `kind="full"`.
    func total(_ name: String, matching: String = "") -> Double {
        series.filter { $0.key.hasPrefix(name + "{") && $0.key.contains(matching) }.values.reduce(0, +)
    }

    /// From the histogram `name` (series matching `matching`), between two scrapes: how many, their mean, and the
    /// smallest bucket bound under which `quantile` of them fell.
    static func histogram(_ name: String, matching: String, from before: MetricsScrape, to after: MetricsScrape,
                          quantile: Double) -> (count: Double, mean: Double, bound: Double?) {
        let count = after.total(name + "_count", matching: matching) - before.total(name + "_count", matching: matching)
        let sum = after.total(name + "_sum", matching: matching) - before.total(name + "_sum", matching: matching)
        var buckets: [Double: Double] = [:]
        for (key, value) in after.series where key.hasPrefix(name + "_bucket{") && key.contains(matching) {
            guard let range = key.range(of: "le=\""), let end = key[range.upperBound...].firstIndex(of: "\""),
                  let bound = Double(key[range.upperBound..<end]) else { continue }
            buckets[bound, default: 0] += value - (before.series[key] ?? 0)
        }
        let bound = buckets.keys.sorted().first { buckets[$0]! >= quantile * count }
        return (count, count > 0 ? sum / count : 0, bound)
    }
}
