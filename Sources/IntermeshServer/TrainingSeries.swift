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
        // Most beats carry nothing new to chart (agents' beats, the steps between two outer steps).
        guard beats.contains(where: { $0.loss != nil || $0.evalBySource != nil }) else { return }
        Self.record(beats, into: &runs[run, default: Series()])
    }

    /// Mutates the run's series in place: a copy of it per heartbeat would copy every slot's points.
    static func record(_ beats: [MemberBeat], into series: inout Series) {
        var added = false
        for beat in beats {
            guard let step = beat.outerStep, step > 0 else { continue }
            if let loss = beat.loss, loss.isFinite, series.loss[beat.slot] != nil || series.loss.count < maxSlots {
                added = append(step: step, value: loss, to: &series.loss[beat.slot, default: []]) || added
            }
            for (source, loss) in beat.evalBySource ?? [:] where loss.isFinite {
                guard series.eval[source] != nil || series.eval.count < maxSources else { continue }
                if let last = series.eval[source]?.last, Int(last[0]) >= step { continue }
                added = append(step: step, value: loss, to: &series.eval[source, default: []]) || added
            }
        }
        if added { series.version += 1 }
    }

    /// A quorum formed for `step`; the first answer of a step sets its time, later ones only its size.
    public func quorum(run: String, step: Int, size: Int, at time: Date) {
        Self.quorum(step: step, size: size, at: time, into: &runs[run, default: Series()])
    }

    static func quorum(step: Int, size: Int, at time: Date, into series: inout Series) {
        if let last = series.quorums.last, last.step == step {
            guard size > last.size else { return }
            series.quorums[series.quorums.count - 1].size = size
        } else {
            // A step lower than the last one starts the run's history over (a run recreated under the same name).
            if let last = series.quorums.last, step < last.step { series.quorums.removeAll { $0.step >= step } }
            series.quorums.append(.init(step: step, size: size, at: time))
            if series.quorums.count > retention { series.quorums.removeFirst(series.quorums.count - retention) }
        }
        series.version += 1
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
