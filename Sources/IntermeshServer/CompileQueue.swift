import Foundation
import Synchronization

/// Spec validation and plan compilation, off the request threads. A 1 MB spec takes seconds of pure compute: on the
/// cooperative pool, four of them held every request (heartbeats included) past a heartbeat timeout. Here at most
/// `workers` run at once on their own threads, at most `backlog` more wait, and an apply beyond that is refused with
/// 503 at once instead of queueing without bound.
public final class CompileQueue: Sendable {
    let workers: Int
    let backlog: Int
    private let admitted = Mutex(0)
    private let slots: DispatchSemaphore
    private let queue = DispatchQueue(label: "intermesh.compile", qos: .utility, attributes: .concurrent)

    public init(workers: Int = 1, backlog: Int = 8) {
        self.workers = workers
        self.backlog = backlog
        slots = DispatchSemaphore(value: workers)
    }

    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        let limit = workers + backlog
        guard admitted.withLock({ count in
            guard count < limit else { return false }
            count += 1
            return true
        }) else {
            throw ControlPlaneError.busy("\(limit) specs are being validated or wait for it; try again shortly")
        }
        defer { admitted.withLock { $0 -= 1 } }
        return try await withCheckedThrowingContinuation { continuation in
            queue.async { [slots] in
                slots.wait()
                defer { slots.signal() }
                continuation.resume(with: Result { try work() })
            }
        }
    }
}
