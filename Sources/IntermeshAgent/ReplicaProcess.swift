#if canImport(Glibc)
import Glibc
#endif
import Foundation
import IntermeshSpec

/// Starting and signalling replica processes. Each replica runs in a process group of its own, so that a
/// stop reaches every process of it (an `mpirun` and its ranks) and a Ctrl-C aimed at the agent does not.
public enum ReplicaProcess {
    /// Whether a replica planned on `host` runs on the agent's machine: a loopback host, and not a Slurm job (its
    /// node is not known).
    public static func runsOnThisMachine(host: String, launcher: LauncherSpec.Kind) -> Bool {
        launcher != .slurm && LighthouseRelay.loopback.contains(host)
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Starts `executable` with `arguments` and exactly `environment`, in `directory`, with stdout and stderr
    /// appended to `log`, as the leader of a new process group. Returns its pid.
    public static func spawn(_ executable: String, _ arguments: [String], environment: [String: String], directory: String,
                             log: String) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of the agent's (its HTTP connections, its state files) leaks into a replica.
        if let closeFrom = closeFrom { _ = closeFrom(&actions, 3) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        // `env -C` changes directory and execs in place (Glibc's Swift module lacks posix_spawn's chdir action).
        let argv = (["/usr/bin/env", "-C", directory, executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, "/usr/bin/env", &actions, &attributes, argv, envp)
        guard status == 0 else {
            throw Failure(description: "cannot start \(executable): \(String(cString: strerror(status)))")
        }
        return pid
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), which the Glibc module does not import.
    nonisolated(unsafe) static let closeFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    /// How a child ended, if it has: (exit code, signal). Only for children of this process.
    public static func reap(_ pid: Int32) -> (code: Int32?, signal: Int32?)? {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == 0 { return nil }
        if result < 0 { return (nil, nil) }  // not our child (adopted): the caller polls liveness instead
        let low = status & 0x7f
        if low == 0 { return ((status >> 8) & 0xff, nil) }
        return (nil, low)
    }

    /// Whether `pid` is a running process (a zombie is not).
    public static func isRunning(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        return ProcStat(pid: pid)?.state != "Z"
    }

    /// Sends `signal` to the process group led by `pid`, and to `pid` itself should it have left the group.
    public static func signalGroup(_ pid: Int32, _ signal: Int32) {
        kill(-pid, signal)
        kill(pid, signal)
    }

    /// Whether any process of the group led by `pid` is still there.
    public static func groupAlive(_ pid: Int32) -> Bool {
        kill(-pid, 0) == 0 || isRunning(pid)
    }

    /// What `/proc/<pid>/stat` says: state, parent, process group, start time (clock ticks after boot).
    public struct ProcStat: Equatable, Sendable {
        public var state: String
        public var parent: Int32
        public var group: Int32
        public var startTime: UInt64

        public init?(pid: Int32) {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = text.lastIndex(of: ")") else { return nil }
            // Fields after the command name (which may hold spaces): state ppid pgrp ... starttime is field 22.
            let fields = text[text.index(after: close)...].split(separator: " ")
            guard fields.count > 19, let parent = Int32(fields[1]), let group = Int32(fields[2]), let start = UInt64(fields[19]) else { return nil }
            state = String(fields[0])
            self.parent = parent
            self.group = group
            startTime = start
        }
    }

    /// The environment a process started with (empty when unreadable).
    public static func environment(of pid: Int32) -> [String: String] {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return [:] }
        var result: [String: String] = [:]
        for entry in data.split(separator: 0) {
            let text = String(decoding: entry, as: UTF8.self)
            guard let equals = text.firstIndex(of: "=") else { continue }
            result[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        return result
    }

    /// Every process id on the machine.
    public static func all() -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }
    }

    /// Live process-group leaders other than this process whose environment satisfies `matches`: how replicas are
    /// found without a record of them (each runs in a group of its own, which carries its member's environment).
    public static func groupLeaders(where matches: ([String: String]) -> Bool) -> [(pid: Int32, environment: [String: String])] {
        all().compactMap { pid in
            guard pid != getpid(), let info = ProcStat(pid: pid), info.group == pid, info.state != "Z" else { return nil }
            let environment = environment(of: pid)
            return matches(environment) ? (pid, environment) : nil
        }
    }

    /// The last `count` lines of a log file (reads at most its last 64 KiB).
    public static func tail(_ path: String, lines count: Int) -> [String] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        try? handle.seek(toOffset: size > 65536 ? size - 65536 : 0)
        let data = (try? handle.readToEnd()) ?? Data()
        return String(decoding: data, as: UTF8.self).split(separator: "\n").suffix(count).map(String.init)
    }
}
