import Foundation

/// When a member sends its heartbeats: on a fixed grid of the interval from its anchor (its start plus a random
/// phase), like a ticker that drops the ticks it missed. Sleeping an interval after each answer instead lets
/// members drift into step: after the control plane was slow or away, everyone that waited on it beats again
/// at the same moment, every interval, and the load comes in bursts at many times the average rate.
public struct BeatSchedule: Sendable, Equatable {
    public var anchor: Date
    public var interval: TimeInterval

    public init(anchor: Date, interval: TimeInterval) {
        self.anchor = anchor
        self.interval = interval
    }

    /// The first point of the grid after `now`.
    public func next(after now: Date) -> Date {
        guard interval > 0 else { return now }
        let elapsed = now.timeIntervalSince(anchor)
        let ticks = max(0, (elapsed / interval).rounded(.down) + 1)
        return anchor.addingTimeInterval(ticks * interval)
    }
}
