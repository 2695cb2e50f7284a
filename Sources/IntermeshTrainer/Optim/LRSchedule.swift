import Foundation
import IntermeshSpec

/// The inner learning rate at each inner step: linear warmup, then constant, cosine or warmup-stable-decay.
public struct LearningRate: Sendable, Hashable {
    public var peak: Double
    public var schedule: LRSchedule
    /// Inner steps of the whole run, when known; without it cosine and wsd hold the peak after warmup.
    public var totalSteps: Int?

    public init(peak: Double, schedule: LRSchedule, totalSteps: Int?) {
        self.peak = peak
        self.schedule = schedule
        self.totalSteps = totalSteps
    }

    public func at(step: Int) -> Double {
        let warmup = schedule.warmupSteps
        if step < warmup { return peak * Double(step + 1) / Double(warmup) }
        let floor = peak * schedule.minLrRatio
        switch schedule.kind {
        case .constant:
            return peak
        case .cosine:
            guard let span = schedule.decaySteps ?? totalSteps.map({ $0 - warmup }), span > 0 else { return peak }
            let progress = min(1, Double(step - warmup) / Double(span))
            return floor + 0.5 * (peak - floor) * (1 + cos(.pi * progress))
        case .wsd:
            guard let total = totalSteps else { return peak }
            let decay = schedule.decaySteps ?? max(1, total / 10)
            let start = total - decay
            guard step >= start else { return peak }
            let progress = min(1, Double(step - start) / Double(decay))
            return peak - (peak - floor) * progress
        }
    }
}
