import Foundation

/// AdamW with decoupled weight decay and global-norm gradient clipping.
public struct AdamW: Sendable {
    public var beta1: Float
    public var beta2: Float
    public var weightDecay: Float
    public var gradClip: Float
    public var epsilon: Float = 1e-8
    public private(set) var step = 0
    var m: [Float]
    var v: [Float]

    public init(count: Int, beta1: Double, beta2: Double, weightDecay: Double, gradClip: Double) {
        self.beta1 = Float(beta1)
        self.beta2 = Float(beta2)
        self.weightDecay = Float(weightDecay)
        self.gradClip = Float(gradClip)
        m = [Float](repeating: 0, count: count)
        v = [Float](repeating: 0, count: count)
    }

    /// Applies one update with learning rate `lr`; returns the gradient norm before clipping.
    @discardableResult
    public mutating func update(_ params: inout [Float], gradient: [Float], lr: Double) -> Float {
        step += 1
        var squares: Double = 0
        for g in gradient { squares += Double(g * g) }
        let norm = Float(squares.squareRoot())
        let clip = gradClip > 0 && norm > gradClip ? gradClip / norm : 1
        let lr = Float(lr)
        let correction1 = 1 - pow(beta1, Float(step))
        let correction2 = 1 - pow(beta2, Float(step))
        for i in params.indices {
            let g = gradient[i] * clip
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = beta2 * v[i] + (1 - beta2) * g * g
            let mHat = m[i] / correction1
            let vHat = v[i] / correction2
            params[i] -= lr * (mHat / (vHat.squareRoot() + epsilon) + weightDecay * params[i])
        }
        return norm
    }
}
