import Foundation

/// One JSON object per line on stdout: what the engine did, for people, tests and the control plane.
public enum TrainerLog {
    nonisolated(unsafe) static var fields: [String: Any] = [:]
    static let lock = NSLock()

    /// Fields added to every line (run, slot, replica).
    public static func setCommon(_ values: [String: Any]) {
        lock.lock()
        fields = values
        lock.unlock()
    }

    public static func emit(_ event: String, _ values: [String: Any]) {
        lock.lock()
        defer { lock.unlock() }
        var line = fields
        line.merge(values) { _, new in new }
        line["event"] = event
        line["time"] = (Date().timeIntervalSince1970 * 1000).rounded() / 1000
        guard let data = try? JSONSerialization.data(withJSONObject: line, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }
}
