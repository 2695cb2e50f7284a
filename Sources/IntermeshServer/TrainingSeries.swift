import Foundation
import IntermeshAPI

/// What members report over time, per run, for the console's charts: training loss per replica slot and evaluation
/// loss per data source against outer steps, and each quorum's size and time. Kept in memory and bounded: the last
/// `retention` points of each series, at most `maxSlots` loss series and `maxSources` evaluation series a run. A
/// standby that takes over starts empty and fills from the next reports.
public actor TrainingSeries {
    public static let retention = 500
    public static let maxSlots = 10_000
    public static let maxSources = 64

    struct Series {
        var version = 0
        var quorums: [RunSeries.Quorum] = []
        var loss: [String: [[Double]]] = [:]
        var eval: [String: [[Double]]] = [:]
    }

    var runs: [String: Series] = [:]

    public init() {}

    /// Adds each beat's loss at its outer step, and its evaluation losses per source (the first report of a step:
    /// every member of a quorum evaluates the same global parameters).
    public func record(run: String, beats: [MemberBeat]) {
        var series = runs[run] ?? Series()
        var added = false
        for beat in beats {
            guard let step = beat.outerStep, step > 0 else { continue }
            if let loss = beat.loss, loss.isFinite, series.loss[beat.slot] != nil || series.loss.count < Self.maxSlots {
                added = Self.append(step: step, value: loss, to: &series.loss[beat.slot, default: []]) || added
            }
            for (source, loss) in beat.evalBySource ?? [:] where loss.isFinite {
                guard series.eval[source] != nil || series.eval.count < Self.maxSources else { continue }
                if let last = series.eval[source]?.last, Int(last[0]) >= step { continue }
                added = Self.append(step: step, value: loss, to: &series.eval[source, default: []]) || added
            }
        }
        if added { series.version += 1 }
        runs[run] = series
    }

    /// A quorum formed for `step`; the first answer of a step sets its time, later ones only its size.
    public func quorum(run: String, step: Int, size: Int, at time: Date) {
        var series = runs[run] ?? Series()
        if let last = series.quorums.last, last.step == step {
            guard size > last.size else { return }
            series.quorums[series.quorums.count - 1].size = size
        } else {
            // A step lower than the last one starts the run's history over (a run recreated under the same name).
            if let last = series.quorums.last, step < last.step { series.quorums.removeAll { $0.step >= step } }
            series.quorums.append(.init(step: step, size: size, at: time))
            if series.quorums.count > Self.retention { series.quorums.removeFirst(series.quorums.count - Self.retention) }
        }
        series.version += 1
        runs[run] = series
    }

    public func lastQuorum(run: String) -> Date? {
        runs[run]?.quorums.last?.at
    }

    public func version(run: String) -> Int {
        runs[run]?.version ?? 0
    }

    public func snapshot(run: String) -> RunSeries {
        guard let series = runs[run] else { return RunSeries() }
        return RunSeries(version: series.version, quorums: series.quorums, loss: series.loss, eval: series.eval)
    }

    public func forget(run: String) {
        runs[run] = nil
    }

    /// Appends a point past the last one; a point at or before it replaces the points from there (a slot whose new
    /// incarnation starts over from an earlier step). Returns whether the series changed.
    static func append(step: Int, value: Double, to points: inout [[Double]]) -> Bool {
        if let last = points.last {
            let lastStep = Int(last[0])
            if lastStep == step { return false }
            if lastStep > step { points.removeAll { Int($0[0]) >= step } }
        }
        points.append([Double(step), value])
        if points.count > retention { points.removeFirst(points.count - retention) }
        return true
    }
}
