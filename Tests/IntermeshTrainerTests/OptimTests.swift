import IntermeshSpec
import Testing
@testable import IntermeshTrainer

@Suite struct OptimTests {
    func schedule(_ kind: LRSchedule.Kind, warmup: Int, decay: Int? = nil) -> LRSchedule {
        return LRSchedule(kind: kind, warmupSteps: warmup, decaySteps: decay, minLrRatio: 0.1)
    }

    @Test(arguments: [
        (LRSchedule.Kind.constant, 0, 1.0 / 10), (.constant, 9, 1.0), (.constant, 500, 1.0),
        (.cosine, 10, 1.0), (.cosine, 55, 0.55), (.cosine, 100, 0.1), (.cosine, 200, 0.1),
        (.wsd, 10, 1.0), (.wsd, 89, 1.0), (.wsd, 95, 0.55), (.wsd, 100, 0.1),
    ] as [(LRSchedule.Kind, Int, Double)])
    func learningRates(_ kind: LRSchedule.Kind, _ step: Int, _ expected: Double) {
        let lr = LearningRate(peak: 1, schedule: schedule(kind, warmup: 10), totalSteps: 100)
        #expect(abs(lr.at(step: step) - expected) < 1e-9, "\(kind) at \(step): \(lr.at(step: step))")
    }

    @Test func openEndedRunsHoldThePeak() {
        #expect(LearningRate(peak: 2, schedule: schedule(.cosine, warmup: 0), totalSteps: nil).at(step: 1_000_000) == 2)
        #expect(LearningRate(peak: 2, schedule: schedule(.wsd, warmup: 0), totalSteps: nil).at(step: 1_000_000) == 2)
    }

    @Test func nesterovMatchesTheDefinition() {
        var outer = OuterNesterov(count: 1, lr: 0.7, momentum: 0.9)
        var global: [Float] = [1]
        outer.apply(global: &global, averagedPseudoGradient: [0.1])
        // buffer = 0.1; step = 0.1 + 0.9 * 0.1 = 0.19
        #expect(abs(global[0] - (1 - 0.7 * 0.19)) < 1e-6)
        outer.apply(global: &global, averagedPseudoGradient: [0.1])
        // buffer = 0.19; step = 0.1 + 0.9 * 0.19 = 0.271
        #expect(abs(global[0] - (1 - 0.7 * 0.19 - 0.7 * 0.271)) < 1e-6)
    }
}
