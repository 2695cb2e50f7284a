import Testing
@testable import IntermeshTrainer

@Suite struct MLPModelTests {
    let shape = MLPModel.Shape(vocab: 256, context: 4, embedding: 3, hidden: 5, layers: 2)

    func batch(_ size: Int, seed: UInt64) -> ([UInt8], [UInt8]) {
        var rng = SeededRandom(seed: seed)
        let inputs = (0..<(size * shape.context)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let targets = (0..<size).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        return (inputs, targets)
    }

    @Test func parameterCountMatchesTheSpecFormula() {
        let model = MLPModel(shape: MLPModel.Shape(vocab: 256, context: 32, embedding: 16, hidden: 256, layers: 2))
        // specs/local.yaml's model: the plan reports 267.01K parameters.
        #expect(model.parameterCount == 267_008)
    }

    /// Every analytic gradient agrees with a central finite difference (in double-checked float32 terms).
    @Test func gradientMatchesFiniteDifferences() {
        let model = MLPModel(shape: shape)
        var params = model.initialParameters(seed: 7)
        let (inputs, targets) = batch(6, seed: 3)
        var gradient = [Float](repeating: 0, count: model.parameterCount)
        _ = model.lossAndGradient(params, inputs: inputs, targets: targets, gradient: &gradient)
        // Parameters that the batch touches: embeddings of the bytes read, all weights and biases.
        let touchedEmbeddings = Set(inputs.map(Int.init)).flatMap { token in (0..<shape.embedding).map { token * shape.embedding + $0 } }
        let others = Array((shape.vocab * shape.embedding)..<model.parameterCount)
        var worst: Float = 0
        var differenceSquares: Float = 0, numericSquares: Float = 0
        for index in touchedEmbeddings + others {
            let saved = params[index]
            let h: Float = 1e-2
            params[index] = saved + h
            let plus = model.loss(params, inputs: inputs, targets: targets)
            params[index] = saved - h
            let minus = model.loss(params, inputs: inputs, targets: targets)
            params[index] = saved
            let numeric = (plus - minus) / (2 * h)
            let error = abs(numeric - gradient[index]) / max(1e-3, abs(numeric) + abs(gradient[index]))
            worst = max(worst, error)
            differenceSquares += (numeric - gradient[index]) * (numeric - gradient[index])
            numericSquares += numeric * numeric
        }
        // float32 finite differences are noisy for tiny entries: bound the whole vector tightly, each entry loosely.
        let relative = (differenceSquares / numericSquares).squareRoot()
        #expect(relative < 0.005, "relative gradient error \(relative)")
        #expect(worst < 0.1, "worst relative gradient error \(worst)")
    }

    @Test func untouchedEmbeddingsGetNoGradient() {
        let model = MLPModel(shape: shape)
        let (inputs, targets) = batch(2, seed: 5)
        var gradient = [Float](repeating: 1, count: model.parameterCount)
        _ = model.lossAndGradient(model.initialParameters(seed: 1), inputs: inputs, targets: targets, gradient: &gradient)
        let unused = (0..<256).first { !inputs.contains(UInt8($0)) }!
        #expect((0..<shape.embedding).allSatisfy { gradient[unused * shape.embedding + $0] == 0 })
    }

    @Test func initialLossIsNearUniform() {
        let model = MLPModel(shape: shape)
        let (inputs, targets) = batch(64, seed: 9)
        let loss = model.loss(model.initialParameters(seed: 2), inputs: inputs, targets: targets)
        // ln(256) = 5.55 for a uniform prediction.
        #expect(abs(loss - 5.55) < 0.5)
    }

    @Test func adamWLearnsAFixedBatch() {
        let model = MLPModel(shape: shape)
        var params = model.initialParameters(seed: 4)
        var optimizer = AdamW(count: model.parameterCount, beta1: 0.9, beta2: 0.95, weightDecay: 0, gradClip: 1)
        let (inputs, targets) = batch(8, seed: 11)
        var gradient = [Float](repeating: 0, count: model.parameterCount)
        let first = model.lossAndGradient(params, inputs: inputs, targets: targets, gradient: &gradient)
        for _ in 0..<200 {
            _ = model.lossAndGradient(params, inputs: inputs, targets: targets, gradient: &gradient)
            optimizer.update(&params, gradient: gradient, lr: 1e-2)
        }
        let last = model.loss(params, inputs: inputs, targets: targets)
        #expect(last < first / 5, "loss \(first) -> \(last)")
    }
}
