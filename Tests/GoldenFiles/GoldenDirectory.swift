import Foundation

/// Reviewed copies of rendered output that tests compare against. A test fails on a golden that differs, on one
/// that is missing, and (for trees and whole directories) on one that nothing produces any more: a stale golden
/// would otherwise pass forever. `INTERMESH_UPDATE_GOLDEN=1 swift test` rewrites them, removing stale ones.
public struct GoldenDirectory: Sendable {
    public let root: URL

    public init(_ root: URL) {
        self.root = root
    }

    static var updating: Bool { ProcessInfo.processInfo.environment["INTERMESH_UPDATE_GOLDEN"] == "1" }

    /// Compares `text` with the golden `name`; returns what is wrong, or nil.
    public func check(_ text: String, _ name: String) -> String? {
        let url = root.appendingPathComponent(name)
        if Self.updating {
            try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try? text.write(to: url, atomically: true, encoding: .utf8)
            return nil
        }
        guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
            return "golden \(name) is missing; rerun with INTERMESH_UPDATE_GOLDEN=1 and review it"
        }
        return text == expected ? nil : "golden \(name) differs; rerun with INTERMESH_UPDATE_GOLDEN=1 and review the diff"
    }

    /// Compares a whole tree under `directory`: every produced file (path -> text) against its golden, and no
    /// golden file there that was not produced.
    public func checkTree(_ produced: [String: String], under directory: String) -> [String] {
        var problems = produced.keys.sorted().compactMap { check(produced[$0]!, directory + "/" + $0) }
        for stale in files(under: directory) where produced[stale] == nil {
            if Self.updating {
                try? FileManager.default.removeItem(at: root.appendingPathComponent(directory + "/" + stale))
            } else {
                problems.append("golden \(directory)/\(stale) is produced by nothing; remove it")
            }
        }
        return problems
    }

    /// Every file under `directory` (the root when empty), as paths relative to it, sorted.
    public func files(under directory: String = "") -> [String] {
        let base = directory.isEmpty ? root : root.appendingPathComponent(directory)
        guard let walker = FileManager.default.enumerator(at: base, includingPropertiesForKeys: [.isRegularFileKey]) else { return [] }
        let prefix = base.standardizedFileURL.path + "/"
        var names: [String] = []
        for case let url as URL in walker where (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            names.append(String(url.standardizedFileURL.path.dropFirst(prefix.count)))
        }
        return names.sorted()
    }
}
