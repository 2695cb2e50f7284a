import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How many connections the API accepts at once: the process's file limit, raised to its hard limit first (as Go's
/// runtime and systemd services do), less a reserve for the store, logs and the Lighthouse endpoint. Past it the
/// server stops accepting (the kernel queues new connections) instead of failing every open with EMFILE, which used
/// to lock every client out, the store's own files included.
public enum ConnectionLimit {
    static let reserve = 64

    public static func raise() -> (files: Int, connections: Int) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return (1024, 1024 - reserve) }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        let files = Int(min(limit.rlim_cur, rlim_t(Int32.max)))
        return (files, max(16, files - reserve))
    }
}
