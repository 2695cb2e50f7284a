import Foundation

/// SIGTERM and SIGINT, observed as a flag.
final class StopSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    private var sources: [DispatchSourceSignal] = []

    init(signals: [Int32] = [SIGTERM, SIGINT]) {
        for number in signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [weak self] in self?.raise() }
            source.resume()
            sources.append(source)
        }
    }

    func raise() {
        lock.lock()
        flag = true
        lock.unlock()
    }

    var raised: Bool {
        lock.lock()
        defer { lock.unlock() }
        return flag
    }
}
