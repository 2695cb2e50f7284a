import Foundation
import TestServices

/// An `intermesh serve` a benchmark starts: on SQLite in its data directory, or on a database of a private PostgreSQL
/// cluster (several servers may share one); waited for until it listens, as the active server or a standby.
struct BenchServe {
    enum Store {
        case sqlite
        case postgres(url: String, passwordFile: String)

        /// A fresh database of this process's private cluster, its password in a file under `data`.
        static func privatePostgres(in data: URL) throws -> Store {
            let cluster = try PostgresCluster.start()
            let passwordFile = data.appendingPathComponent("pgpass-\(UUID())")
            FileManager.default.createFile(atPath: passwordFile.path, contents: Data(cluster.password.utf8), attributes: [.posixPermissions: 0o600])
            return .postgres(url: try cluster.createDatabase(), passwordFile: passwordFile.path)
        }

        var name: String {
            if case .postgres = self { return "PostgreSQL" }
            return "SQLite"
        }
    }

    let process: Process
    let port: Int
    /// The admin token the store's first server issued.
    let adminToken: String

    static var binary: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("intermesh").path
    }

    /// Starts server `name` with its files under `data`; `port` 0 takes a free one.
    static func start(data: URL, store: Store, name: String = "serve", port: Int = 0, extra: [String] = []) async throws -> BenchServe {
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let log = data.appendingPathComponent("\(name).log")
        var arguments = ["serve", "--data", data.appendingPathComponent(name).path, "--listen", "127.0.0.1:\(port)",
                         "--admin-token-file", data.appendingPathComponent("admin.token").path] + extra
        if case let .postgres(url, passwordFile) = store { arguments += ["--store", url, "--store-password-file", passwordFile] }
        let process = try LighthouseBench.start(binary, arguments, log: log)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, process.isRunning {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if let range = text.range(of: "listening on http://127.0.0.1:") ?? text.range(of: "standby on http://127.0.0.1:") ??
                text.range(of: "listening on https://127.0.0.1:"),
               let bound = Int(text[range.upperBound...].prefix { $0.isNumber }) {
                let token = (try? String(contentsOf: data.appendingPathComponent("admin.token"), encoding: .utf8)) ?? ""
                return BenchServe(process: process, port: bound, adminToken: token.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.terminate()
        throw BenchFailure(description: "intermesh serve did not start; see \(log.path)")
    }

    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}
