import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Checkpoints of one replica in a directory: written atomically (temporary file, fsync, rename, fsync of
/// the directory), the newest `keep` kept, and on load the newest one that verifies.
public struct CheckpointStore: Sendable {
    public let directory: URL
    public let keep: Int

    public init(directory: URL, keep: Int) {
        self.directory = directory
        self.keep = max(1, keep)
    }

    func url(outerStep: Int) -> URL {
        directory.appendingPathComponent(String(format: "checkpoint-%08d.bin", outerStep))
    }

    public func write(_ snapshot: TrainerSnapshot) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let final = url(outerStep: snapshot.outerStep)
        let temporary = directory.appendingPathComponent(".\(final.lastPathComponent).\(getpid()).tmp")
        let bytes = snapshot.encoded()
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary.path]) }
        var offset = 0
        let ok = bytes.withUnsafeBytes { raw -> Bool in
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 { return false }
                offset += n
            }
            return fsync(fd) == 0
        }
        close(fd)
        guard ok, rename(temporary.path, final.path) == 0 else {
            unlink(temporary.path)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: final.path])
        }
        let dirfd = open(directory.path, O_RDONLY)
        if dirfd >= 0 {
            fsync(dirfd)
            close(dirfd)
        }
        for old in checkpoints().dropFirst(keep) { try? FileManager.default.removeItem(at: old) }
    }

    /// Checkpoint files, newest first.
    public func checkpoints() -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasPrefix("checkpoint-") && $0.hasSuffix(".bin") }.sorted(by: >).map { directory.appendingPathComponent($0) }
    }

    /// The newest checkpoint that verifies, and the ones skipped on the way with the reason.
    public func loadNewest() -> (snapshot: TrainerSnapshot?, skipped: [(file: String, reason: String)]) {
        var skipped: [(String, String)] = []
        for url in checkpoints() {
            guard let data = FileManager.default.contents(atPath: url.path) else {
                skipped.append((url.lastPathComponent, "unreadable"))
                continue
            }
            do {
                return (try TrainerSnapshot(decoding: [UInt8](data)), skipped)
            } catch {
                skipped.append((url.lastPathComponent, error.description))
            }
        }
        return (nil, skipped)
    }
}
