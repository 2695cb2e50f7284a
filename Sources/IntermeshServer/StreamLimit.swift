import Foundation

/// Counts streams open at once, up to a maximum.
final class StreamLimit: @unchecked Sendable {
    let maximum: Int
    private var open = 0
    private let lock = NSLock()

    init(maximum: Int) {
        self.maximum = maximum
    }

    func enter() -> Bool {
        lock.withLock {
            guard open < maximum else { return false }
            open += 1
            return true
        }
    }

    func leave() {
        lock.withLock { open -= 1 }
    }
}
