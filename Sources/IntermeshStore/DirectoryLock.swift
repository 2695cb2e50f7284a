import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive lock on a store directory (`flock` on `intermesh.lock`), held while the store is open: two
/// control planes on one directory would each cache and reconcile as if they were alone. The kernel releases
/// it when the process dies, so a crash leaves nothing to clean up. The file records the holder's pid.
final class DirectoryLock: Sendable {
    let descriptor: Int32

    init(_ directory: URL) throws {
        let path = directory.appendingPathComponent("intermesh.lock").path
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw StoreError(code: .locked, message: "\(path): cannot open: \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(descriptor)
            throw StoreError(code: .locked, message: "another process\(holder.isEmpty ? "" : " (pid \(holder))") has it open")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pid.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
    }

    deinit {
        close(descriptor)
    }
}
