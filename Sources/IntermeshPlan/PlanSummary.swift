import Foundation
import IntermeshSpec

/// The human summary `intermesh plan` prints: sites, replicas, and the bandwidth-aware estimate.
public enum PlanSummary {
    public static func text(_ plan: Plan) -> String {
        let spec = plan.run.spec
        let estimate = plan.estimate
        var out = "Plan for run \(plan.runName) (\(plan.contentHash.prefix(19)))\n"
        out += "engine \(plan.engine.rawValue) (\(plan.membership.rawValue) membership), \(Format.count(Double(plan.parameters))) parameters, "
        out += "\(plan.totalReplicas) replica\(plan.totalReplicas == 1 ? "" : "s") in \(plan.sites.count) site\(plan.sites.count == 1 ? "" : "s"), "
        out += "\(plan.totalRanks) rank\(plan.totalRanks == 1 ? "" : "s")\n"
        out += "H = \(spec.training.innerSteps) inner steps; \(spec.training.quantization.rawValue) pseudo-gradient of "
        out += "\(Format.bytes(estimate.pseudoGradientBytes)); each member sends \(Format.bytes(plan.sites.first?.estimate.bytesPerSync ?? 0)) "
        out += "per outer step in a ring of \(estimate.ringMembers)\n"
        out += "assumed MFU \(Format.percent(spec.estimate.mfu)), link efficiency \(Format.percent(spec.estimate.linkEfficiency))\n\n"

        var rows = [["SITE", "REPLICAS", "RANKS", "GPU", "BANDWIDTH", "COMPUTE (H STEPS)", "SYNC", "UTILIZATION"]]
        for site in plan.sites {
            guard let siteSpec = spec.sites.first(where: { $0.name == site.name }) else { continue }
            let e = site.estimate
            rows.append([
                site.name, String(site.replicas.count), String(siteSpec.ranksPerReplica),
                "\(siteSpec.gpu.count)x\(siteSpec.gpu.kind)", siteSpec.bandwidth.description,
                Format.seconds(e.computeSeconds), Format.seconds(e.syncSeconds), Format.percent(e.utilization),
            ])
        }
        out += Format.table(rows)
        out += "\nouter step \(Format.seconds(estimate.outerStepSeconds)): slowest compute "
        out += "\(Format.seconds(estimate.outerStepSeconds - estimate.syncSeconds)) + ring all-reduce \(Format.seconds(estimate.syncSeconds))"
        if let bottleneck = estimate.bottleneckSite,
           let bandwidth = spec.sites.first(where: { $0.name == bottleneck })?.bandwidth {
            out += " (limited by \(bottleneck) at \(bandwidth))"
        }
        out += "\nrun utilization \(Format.percent(estimate.utilization)) (target \(Format.percent(estimate.targetUtilization)))\n"
        return out
    }

    /// One warning per site below the target utilization, naming the smallest H that would reach it.
    public static func warnings(_ plan: Plan) -> [(site: String, message: String)] {
        plan.sites.compactMap { site in
            let e = site.estimate
            guard e.utilization < plan.estimate.targetUtilization else { return nil }
            var message = "site '\(site.name)' is estimated at \(Format.percent(e.utilization)) compute utilization, below the "
                + "run's target of \(Format.percent(plan.estimate.targetUtilization))"
            if let needed = e.innerStepsForTarget {
                message += "; innerSteps >= \(needed) would reach it (now \(plan.run.spec.training.innerSteps))"
            }
            return (site.name, message)
        }
    }
}

/// Number formatting for summaries.
public enum Format {
    public static func seconds(_ value: Double) -> String {
        guard value.isFinite else { return "unknown" }
        if value < 1e-3 { return String(format: "%.0fus", value * 1e6) }
        if value < 1 { return String(format: "%.0fms", value * 1e3) }
        if value < 60 { return String(format: "%.1fs", value) }
        if value < 3600 { return String(format: "%dm%02ds", Int(value) / 60, Int(value) % 60) }
        return String(format: "%dh%02dm", Int(value) / 3600, Int(value) % 3600 / 60)
    }

    public static func bytes(_ value: Double) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var v = value
        var unit = 0
        while v >= 1000, unit < units.count - 1 {
            v /= 1000
            unit += 1
        }
        return unit == 0 ? "\(Int(v)) B" : String(format: "%.1f %@", v, units[unit])
    }

    public static func count(_ value: Double) -> String {
        for (factor, suffix) in [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")] where value >= factor {
            return String(format: "%.2f%@", value / factor, suffix)
        }
        return String(Int(value))
    }

    public static func percent(_ value: Double) -> String {
        String(format: "%.1f%%", value * 100)
    }

    /// Left-aligned columns separated by two spaces.
    public static func table(_ rows: [[String]]) -> String {
        guard let columns = rows.map(\.count).max() else { return "" }
        var widths = Array(repeating: 0, count: columns)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}
