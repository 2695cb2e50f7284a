import Synchronization

/// Rows that requests read on every call and that only this store writes (runs, tokens), kept in memory.
/// A write drops the row's entry after it commits. A read that missed and loaded while a write committed does
/// not keep what it loaded (the generation moved), so a stale row is never cached. Misses are not cached:
/// requests for names that do not exist cannot grow it.
final class ReadThroughCache<Value: Sendable>: Sendable {
    private let state = Mutex<(entries: [String: Value], generation: UInt64)>(([:], 0))

    func value(_ key: String, load: () async throws -> Value?) async throws -> Value? {
        let (hit, generation) = state.withLock { ($0.entries[key], $0.generation) }
        if let hit { return hit }
        guard let loaded = try await load() else { return nil }
        state.withLock { if $0.generation == generation { $0.entries[key] = loaded } }
        return loaded
    }

    func invalidate(_ key: String) {
        state.withLock {
            $0.entries[key] = nil
            $0.generation &+= 1
        }
    }
}
