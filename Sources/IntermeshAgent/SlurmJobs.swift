import Foundation

/// Replicas of a `slurm` site are batch jobs: `launch.sh` submits one with `sbatch --parsable` and the agent
/// follows it with `squeue`, ends it with `scancel`, and reads how it ended from `scontrol show job`.
enum SlurmJobs {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs a command to its end; its status and standard output. Standard error goes to the output too.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                    directory: String? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        if let environment { process.environment = environment }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Submits through the site's `launch.sh`; the job id. Its output goes to `log` (appended).
    static func submit(script: String, environment: [String: String], directory: String, log: String) throws -> String {
        var environment = environment
        // Environment variables win over the script's #SBATCH lines.
        environment["SBATCH_OUTPUT"] = log
        environment["SBATCH_OPEN_MODE"] = "append"
        let (status, output) = try run("/bin/bash", [script], environment: environment, directory: directory)
        let line = output.split(separator: "\n").last.map(String.init) ?? ""
        let id = String(line.split(separator: ";").first ?? "").trimmingCharacters(in: .whitespaces)
        guard status == 0, !id.isEmpty, id.allSatisfy(\.isNumber) else {
            throw Failure(description: "sbatch failed (status \(status)): \(output.trimmingCharacters(in: .whitespacesAndNewlines).suffix(300))")
        }
        return id
    }

    /// States of the jobs Slurm still has queued or running (`PENDING`, `RUNNING`, ...) among `ids`; nil when
    /// squeue fails (the controller is away: the jobs count as running).
    static func states(_ ids: [String]) -> [String: String]? {
        guard !ids.isEmpty else { return [:] }
        // This user's jobs: squeue -j fails outright when one id is no longer known.
        guard let (status, output) = try? run("squeue", ["-h", "--me", "-o", "%i %T"]), status == 0 else { return nil }
        let wanted = Set(ids)
        var states: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, wanted.contains(String(parts[0])) { states[String(parts[0])] = String(parts[1]) }
        }
        return states
    }

    /// How a finished job ended: its exit code, or the signal that killed it; nil fields when Slurm forgot it.
    static func exit(_ id: String) -> (code: Int32?, signal: Int32?) {
        guard let (status, output) = try? run("scontrol", ["show", "job", "-o", id]), status == 0,
              let field = output.split(separator: " ").first(where: { $0.hasPrefix("ExitCode=") }) else { return (nil, nil) }
        let parts = field.dropFirst("ExitCode=".count).split(separator: ":").compactMap { Int32($0) }
        guard parts.count == 2 else { return (nil, nil) }
        return parts[1] != 0 ? (nil, parts[1]) : (parts[0], nil)
    }

    /// SIGTERM to every process of the job (its batch script included), or ends it outright.
    static func signal(_ id: String, _ signal: Int32) {
        _ = try? run("scancel", signal == SIGKILL ? [id] : ["--full", "--signal=TERM", id])
    }
}
