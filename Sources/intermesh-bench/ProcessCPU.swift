import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// CPU time a process has used (user + system, from /proc/PID/stat), sampled over a run so that the CPU spent
/// in a window can be read afterwards: a figure that a busy machine disturbs far less than latency.
actor ProcessCPU {
    let pid: Int32
    var samples: [(at: Date, seconds: Double)] = []

    init(pid: Int32) {
        self.pid = pid
    }

    static func seconds(of pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        // After the command name: state is field 3, utime and stime are fields 14 and 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    func sample() {
        if let seconds = Self.seconds(of: pid) { samples.append((Date(), seconds)) }
    }

    /// Samples every half second until the task is cancelled.
    func run() async {
        while !Task.isCancelled {
            sample()
            try? await Task.sleep(for: .milliseconds(500))
        }
    }

    /// Cores used on average between the samples nearest to `from` and `to`.
    func cores(from: Date, to: Date) -> Double? {
        guard let first = samples.min(by: { abs($0.at.timeIntervalSince(from)) < abs($1.at.timeIntervalSince(from)) }),
              let last = samples.min(by: { abs($0.at.timeIntervalSince(to)) < abs($1.at.timeIntervalSince(to)) }),
              last.at > first.at else { return nil }
        return (last.seconds - first.seconds) / last.at.timeIntervalSince(first.at)
    }
}
