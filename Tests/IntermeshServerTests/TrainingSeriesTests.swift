import Foundation
import IntermeshAPI
@testable import IntermeshServer
import Testing

/// The series the console charts: what a point does to a series, and the bounds.
struct TrainingSeriesTests {
    struct AppendCase: CustomTestStringConvertible, Sendable {
        var name: String
        var before: [[Double]]
        var step: Int
        var after: [[Double]]
        var changed: Bool
        var testDescription: String { name }
    }

    static let appends: [AppendCase] = [
        .init(name: "the first point", before: [], step: 1, after: [[1, 9]], changed: true),
        .init(name: "a later step", before: [[1, 1], [2, 2]], step: 3, after: [[1, 1], [2, 2], [3, 9]], changed: true),
        .init(name: "the same step again (every beat repeats it)", before: [[1, 1], [2, 2]], step: 2, after: [[1, 1], [2, 2]], changed: false),
        .init(name: "an earlier step: a new incarnation started over", before: [[1, 1], [2, 2], [3, 3]], step: 2, after: [[1, 1], [2, 9]], changed: true),
    ]

    @Test(arguments: appends) func aPointGoesPastTheLastOrReplacesTheTail(_ test: AppendCase) {
        var points = test.before
        #expect(TrainingSeries.append(step: test.step, value: 9, to: &points) == test.changed)
        #expect(points == test.after)
    }

    @Test func seriesKeepTheirLastPointsAndABoundedNumberOfSources() async {
        let series = TrainingSeries()
        for step in 1...(TrainingSeries.retention + 20) {
            let sources = Dictionary(uniqueKeysWithValues: (0..<(TrainingSeries.maxSources + 5)).map { ("source-\($0)", Double(step)) })
            await series.record(run: "r", beats: [MemberBeat(id: "m", slot: "a/0", state: .training, outerStep: step, loss: .nan),
                                                  MemberBeat(id: "n", slot: "a/1", state: .training, outerStep: step, loss: 1, evalBySource: sources)])
        }
        let snapshot = await series.snapshot(run: "r")
        #expect(snapshot.loss["a/0"] == nil, "a loss that is not finite is not kept")
        #expect(snapshot.loss["a/1"]?.count == TrainingSeries.retention)
        #expect(snapshot.loss["a/1"]?.first?.first == 21)
        #expect(snapshot.eval.count == TrainingSeries.maxSources)
        #expect(snapshot.version > 0)
    }

    @Test func aQuorumIsRecordedOncePerStepAtItsFirstAnswer() async {
        let series = TrainingSeries()
        let start = Date(timeIntervalSince1970: 1000)
        await series.quorum(run: "r", step: 1, size: 2, at: start)
        await series.quorum(run: "r", step: 1, size: 3, at: start.addingTimeInterval(1))
        await series.quorum(run: "r", step: 1, size: 1, at: start.addingTimeInterval(2))
        await series.quorum(run: "r", step: 2, size: 3, at: start.addingTimeInterval(5))
        let quorums = await series.snapshot(run: "r").quorums
        #expect(quorums == [.init(step: 1, size: 3, at: start), .init(step: 2, size: 3, at: start.addingTimeInterval(5))])
        #expect(await series.lastQuorum(run: "r") == start.addingTimeInterval(5))
        await series.forget(run: "r")
        #expect(await series.snapshot(run: "r") == RunSeries())
    }
}
