/// DiLoCo's outer step: Nesterov SGD on the averaged pseudo-gradient (global - local).
public struct OuterNesterov: Sendable, Hashable, Codable {
    public var lr: Float
    public var momentum: Float
    public var buffer: [Float]

    public init(count: Int, lr: Double, momentum: Double) {
        self.lr = Float(lr)
        self.momentum = Float(momentum)
        buffer = [Float](repeating: 0, count: count)
    }

    /// global -= lr * (delta + momentum * buffer), with buffer = momentum * buffer + delta (PyTorch's Nesterov).
    public mutating func apply(global: inout [Float], averagedPseudoGradient delta: [Float]) {
        for i in global.indices {
            buffer[i] = momentum * buffer[i] + delta[i]
            global[i] -= lr * (delta[i] + momentum * buffer[i])
        }
    }
}
