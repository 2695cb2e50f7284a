import Foundation
import Synchronization

/// Rows that requests read on every call and that only this store writes (runs, tokens), kept in memory.
/// A write drops the row's entry after it commits. A read that missed and loaded while a write committed does
/// not keep what it loaded (the generation moved), so a stale row is never cached. Misses are not cached:
/// requests for names that do not exist cannot grow it. With `maxAge`, an entry is read again once it is that old,
/// so a row changed behind the store's back (a token deleted with sqlite3) stops counting within that time.
final class ReadThroughCache<Value: Sendable>: Sendable {
    private let state = Mutex<(entries: [String: (value: Value, at: ContinuousClock.Instant)], generation: UInt64)>(([:], 0))
    private let maxAge: Duration?

    init(maxAge: Duration? = nil) {
        self.maxAge = maxAge
    }

    func value(_ key: String, load: () async throws -> Value?) async throws -> Value? {
        let now = ContinuousClock.now
        let (hit, generation) = state.withLock { ($0.entries[key], $0.generation) }
        if let hit, maxAge.map({ now - hit.at < $0 }) ?? true { return hit.value }
        guard let loaded = try await load() else {
            state.withLock { if $0.generation == generation { $0.entries[key] = nil } }
            return nil
        }
        state.withLock { if $0.generation == generation { $0.entries[key] = (loaded, now) } }
        return loaded
    }

    func invalidate(_ key: String) {
        state.withLock {
            $0.entries[key] = nil
            $0.generation &+= 1
        }
    }
}
