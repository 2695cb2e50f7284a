import Foundation
import IntermeshAPI
import IntermeshClient
import IntermeshControl
import IntermeshTLS
import Testing

/// A real `intermesh up` (or `serve` plus agents) in a temporary data directory; everything it started is
/// killed at the end, found by the data directory in the processes' environment.
final class UpProcess: @unchecked Sendable {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var binary: String {
        if let explicit = ProcessInfo.processInfo.environment["INTERMESH_BIN"] { return explicit }
        let beside = Bundle.main.bundleURL.appendingPathComponent("intermesh").path
        return FileManager.default.isExecutableFile(atPath: beside) ? beside : root.appendingPathComponent(".build/debug/intermesh").path
    }

    let data: URL
    let port: Int
    var process: Process?
    let output: URL

    init(port: Int) {
        data = FileManager.default.temporaryDirectory.appendingPathComponent("up-\(UUID())")
        self.port = port
        output = data.appendingPathExtension("log")
    }

    /// `up` serves TLS with an authority of its data directory (tls/ca.pem); `serve` here serves plain HTTP.
    var secure = false
    var server: String { "\(secure ? "https" : "http")://127.0.0.1:\(port)" }
    var authority: String { data.appendingPathComponent("tls/ca.pem").path }
    var adminToken: String {
        ((try? String(contentsOf: data.appendingPathComponent("admin.token"), encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func client() -> APIClient {
        APIClient(server: server, token: adminToken, environment: [:], timeout: .seconds(10), tls: ClientTLS(caFile: secure ? authority : nil))
    }

    /// Starts `intermesh ARGUMENTS` in the repository root with output to `output`.
    @discardableResult
    func launch(_ arguments: [String], log: URL? = nil, environment extra: [String: String] = [:]) throws -> Process {
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let log = log ?? output
        if !FileManager.default.fileExists(atPath: log.path) { FileManager.default.createFile(atPath: log.path, contents: nil) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        process.currentDirectoryURL = Self.root
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("INTERMESH_") }
        environment["NO_COLOR"] = "1"
        environment.merge(extra) { $1 }
        process.environment = environment
        let handle = try FileHandle(forWritingTo: log)
        try handle.seekToEnd()
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    /// `intermesh up SPEC` on this port and data directory.
    func up(_ spec: String, extra: [String] = [], environment: [String: String] = [:]) throws {
        secure = !extra.contains("--plain-http")
        process = try launch(["up", spec, "--data", data.path, "--listen", "127.0.0.1:\(port)"] + extra, environment: environment)
        try wait("the control plane", timeout: 60) { self.text.contains("control plane on") }
    }

    var text: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }

    /// Polls `condition` every 200 ms until it holds or `timeout` passes.
    func wait(_ what: String, timeout: Double, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if (try? await condition()) == true { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw UpFailure(description: "timed out after \(Int(timeout)) s waiting for \(what)\n--- output:\n\(text.suffix(3000))\(agentLogs())")
    }

    func wait(_ what: String, timeout: Double, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return }
            usleep(200_000)
        }
        throw UpFailure(description: "timed out after \(Int(timeout)) s waiting for \(what)\n--- output:\n\(text.suffix(3000))\(agentLogs())")
    }

    /// The last lines of every agent's log and of every replica's log, for a failure's message.
    func agentLogs(lines: Int = 15) -> String {
        let agents = data.appendingPathComponent("agents")
        let sites = ((try? FileManager.default.contentsOfDirectory(atPath: agents.path)) ?? []).sorted()
        var out = ""
        for site in sites {
            let logs = agents.appendingPathComponent("\(site)/logs")
            let replicas = ((try? FileManager.default.contentsOfDirectory(atPath: logs.path)) ?? []).sorted().map { "logs/\($0)" }
            for file in ["agent.log"] + replicas {
                let text = (try? String(contentsOf: agents.appendingPathComponent("\(site)/\(file)"), encoding: .utf8)) ?? ""
                let tail = text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
                out += "\n--- \(site)/\(file):\n\(tail.suffix(2500))"
            }
        }
        return out
    }

    func members(_ run: String) async throws -> [MemberRecord] {
        try await client().get("/v1/runs/\(run)/members")
    }

    func outerStep(_ run: String) async throws -> Int {
        try await members(run).map(\.outerStep).max() ?? 0
    }

    /// The agent state of a site.
    func replicas(site: String) -> [[String: Any]] {
        guard let data = FileManager.default.contents(atPath: self.data.appendingPathComponent("agents/\(site)/agent.json").path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [] }
        return object["replicas"] as? [[String: Any]] ?? []
    }

    /// The JSON lines of a replica's log (every incarnation).
    func log(site: String, index: Int = 0) -> [[String: Any]] {
        let path = data.appendingPathComponent("agents/\(site)/logs/\(site)-\(index).log").path
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").filter { $0.hasPrefix("{") }
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    func outerEvents(site: String) -> [[String: Any]] {
        log(site: site).filter { $0["event"] as? String == "outer" }
    }

    /// `intermesh ARGUMENTS` against this control plane, waited for; its exit code and output.
    func command(_ arguments: [String]) throws -> (Int32, String) {
        let log = data.appendingPathComponent("command-\(UUID()).log")
        let process = try launch(arguments + ["--server", server, "--token-file", data.appendingPathComponent("admin.token").path]
                                 + (secure ? ["--ca-file", authority] : []), log: log)
        process.waitUntilExit()
        return (process.terminationStatus, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }

    /// Processes started for this data directory (agents' replicas and the agents themselves).
    func processes() -> [Int32] {
        let mine = data.path
        return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }.filter { pid in
            guard let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ"),
                  let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            if stat.contains(") Z ") { return false }
            return String(decoding: environ, as: UTF8.self).contains(mine) || String(decoding: cmdline, as: UTF8.self).contains(mine)
        }
    }

    /// SIGINT to `up` (a Ctrl-C); its exit code.
    func interrupt(timeout: Double = 60) throws -> Int32 {
        guard let process else { return -1 }
        kill(process.processIdentifier, SIGINT)
        try wait("up to exit", timeout: timeout) { !process.isRunning }
        return process.terminationStatus
    }

    /// Kills everything this test started.
    func cleanUp() {
        if let process, process.isRunning { kill(process.processIdentifier, SIGKILL) }
        for pid in processes() { kill(pid, SIGKILL) }
    }

    deinit { cleanUp() }
}

struct UpFailure: Error, CustomStringConvertible {
    var description: String
}

/// specs/local.yaml with changes, written to a temporary file.
func localSpec(replacing changes: [(String, String)] = [], appending extra: String = "") throws -> String {
    var text = try String(contentsOf: UpProcess.root.appendingPathComponent("specs/local.yaml"), encoding: .utf8)
    for (old, new) in changes {
        guard text.contains(old) else { throw UpFailure(description: "specs/local.yaml has no '\(old)'") }
        text = text.replacingOccurrences(of: old, with: new)
    }
    if !extra.isEmpty {
        guard let range = text.range(of: "  faultPolicy:") else { throw UpFailure(description: "no faultPolicy") }
        text.insert(contentsOf: extra, at: range.lowerBound)
    }
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("spec-\(UUID()).yaml")
    try text.write(to: file, atomically: true, encoding: .utf8)
    return file.path
}

/// Runs a program found on PATH to its end; its exit status and its output and errors together.
func runProgram(_ arguments: [String]) throws -> (Int32, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
