import Foundation
import IntermeshTLS

/// A private PostgreSQL cluster for tests: `initdb` as the postgres user into a temporary directory, password
/// authentication (scram-sha-256) for the `intermesh` user, listening on 127.0.0.1 on a free port, with TLS (a
/// certificate of its own authority, `authority`). One per test process, stopped when the process exits. Needs
/// Debian's postgresql package (scripts/setup.sh).
public final class PostgresCluster: @unchecked Sendable {
    public let directory: URL
    public let port: Int
    public let user = "intermesh"
    public let password = "pw-\(UUID().uuidString.prefix(8))"
    /// The authority of the server's certificate.
    public let authority: URL
    let binaries: URL

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The cluster of this process.
    nonisolated(unsafe) public static var shared: Result<PostgresCluster, Failure>?
    static let lock = NSLock()

    public static func start() throws -> PostgresCluster {
        lock.lock()
        defer { lock.unlock() }
        if let shared { return try shared.get() }
        let result: Result<PostgresCluster, Failure>
        do {
            result = .success(try PostgresCluster())
        } catch let error as Failure {
            result = .failure(error)
        } catch {
            result = .failure(Failure(description: "\(error)"))
        }
        shared = result
        atexit { try? PostgresCluster.shared?.get().stop() }
        return try result.get()
    }

    init() throws {
        guard let version = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql"))?.sorted().last else {
            throw Failure(description: "PostgreSQL is not installed (bash scripts/setup.sh installs it)")
        }
        binaries = URL(fileURLWithPath: "/usr/lib/postgresql/\(version)/bin")
        directory = URL(fileURLWithPath: "/tmp/intermesh-pg-\(UUID().uuidString.prefix(8))")
        port = Self.freePort()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let tls = directory.appendingPathComponent("tls")
        try CertificateAuthority.create(in: tls).issue(name: "server", hosts: ["127.0.0.1", "localhost"], in: tls)
        authority = tls.appendingPathComponent("ca.pem")
        let passwordFile = directory.appendingPathComponent("pw")
        try Data("\(password)\n".utf8).write(to: passwordFile)
        try Self.run("/bin/chown", ["-R", "postgres:postgres", directory.path])
        try asPostgres("initdb", ["-D", data, "-U", user, "--auth=scram-sha-256", "--pwfile=\(passwordFile.path)", "--no-sync", "-E", "UTF8"])
        let options = "-p \(port) -k \(directory.path) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
            + " -c ssl=on -c ssl_cert_file=\(tls.path)/server.pem -c ssl_key_file=\(tls.path)/server.key"
        try asPostgres("pg_ctl", ["-D", data, "-o", options, "-l", directory.appendingPathComponent("log").path, "-w", "start"])
    }

    var data: String { directory.appendingPathComponent("data").path }

    /// The URL of a new, empty database of this cluster (no password in it: give `password` as $PGPASSWORD or a file).
    public func createDatabase(query: String = "") throws -> String {
        let name = "t_\(UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: ""))"
        try asPostgres("createdb", ["-h", "127.0.0.1", "-p", "\(port)", "-U", user, name], environment: ["PGPASSWORD": password])
        return "postgres://\(user)@127.0.0.1:\(port)/\(name)" + (query.isEmpty ? "" : "?\(query)")
    }

    /// Runs SQL in a database as the cluster's user (psql).
    public func execute(_ sql: String, database url: String) throws {
        let name = String(url.split(separator: "/").last?.split(separator: "?").first ?? "")
        try asPostgres("psql", ["-h", "127.0.0.1", "-p", "\(port)", "-U", user, "-d", name, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
                       environment: ["PGPASSWORD": password])
    }

    public func stop() throws {
        try asPostgres("pg_ctl", ["-D", data, "-m", "immediate", "stop"])
        try? FileManager.default.removeItem(at: directory)
    }

    func asPostgres(_ program: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        let variables = environment.map { "\($0.key)=\($0.value)" }
        try Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", "/usr/bin/env"] + variables + [binaries.appendingPathComponent(program).path] + arguments)
    }

    /// Runs a program to its end with posix_spawn and waitpid (Foundation's Process missed the exit of runuser when
    /// the server it started kept running), output to a file.
    static func run(_ program: String, _ arguments: [String]) throws {
        let log = "/tmp/intermesh-pg-run-\(UUID().uuidString.prefix(8)).log"
        defer { unlink(log) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, program, &actions, nil, argv, environ)
        guard spawned == 0 else { throw Failure(description: "\(program): cannot start (errno \(spawned))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        guard exited == 0 else {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw Failure(description: "\(([program] + arguments).joined(separator: " ")) exited \(exited): \(text.suffix(2000))")
        }
    }

    public static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
