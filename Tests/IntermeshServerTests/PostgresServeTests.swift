import Foundation
import IntermeshAPI
import IntermeshClient
import IntermeshTLS
import TestServices
import Testing

/// `intermesh serve --store postgres://...` against a private PostgreSQL cluster (TLS, password authentication).
@Suite(.serialized) struct PostgresServeTests {
    let cluster: PostgresCluster
    let passwordFile = FileManager.default.temporaryDirectory.appendingPathComponent("pgpass-\(UUID())")

    init() throws {
        cluster = try PostgresCluster.start()
        FileManager.default.createFile(atPath: passwordFile.path, contents: Data("\(cluster.password)\n".utf8), attributes: [.posixPermissions: 0o600])
    }

    func text(_ server: ServerProcess) -> String { (try? String(contentsOf: server.output, encoding: .utf8)) ?? "" }

    func wait(_ seconds: Double, _ what: String, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            guard Date() < deadline else { throw ServerFailure(description: "timed out waiting for \(what)") }
            usleep(100_000)
        }
    }

    @Test func theStateLivesInPostgreSQLAndAStandbyTakesOverWhenTheActiveServerDies() async throws {
        let url = try cluster.createDatabase(query: "sslmode=verify-full&sslrootcert=\(cluster.authority.path)")
        let options = ["--store", url, "--store-password-file", passwordFile.path, "--lighthouse-port", "off", "--lease-time", "2s"]
        let first = ServerProcess(options: options)
        defer { first.stop() }
        try first.start()
        #expect(text(first).contains("data in postgres://intermesh@127.0.0.1:\(cluster.port)/"))
        #expect(text(first).contains("active (lease epoch 1) as http://127.0.0.1:\(first.port)"))
        let applied: ApplyResponse = try await first.client().post("/v1/runs", json: ["spec": spec()])
        #expect(applied.revision == 1)
        let activeInfo = try await first.client().serverInfo()
        #expect(activeInfo.role == .active && activeInfo.address == "http://127.0.0.1:\(first.port)" && activeInfo.active == activeInfo.address)
        #expect(activeInfo.epoch == 1 && (activeInfo.leaseRemaining ?? 0) > 0)

        // A second server on the same store is a standby: it says who is active, and answers 503 naming it to the rest.
        let second = ServerProcess(options: options)
        defer { second.stop() }
        try second.start()
        let active = "http://127.0.0.1:\(first.port)"
        #expect(text(second).contains("standby on http://127.0.0.1:\(second.port), the active server is \(active)"), "\(text(second))")
        let standby = second.client(token: first.adminToken)
        let info = try await standby.serverInfo()
        #expect(info.role == .standby && info.active == active && info.address == "http://127.0.0.1:\(second.port)")
        await expectError(503, "standby") { _ = try await standby.describe(run: "demo") }
        await expectError(401, "unauthorized") { _ = try await second.client(token: "im_bogus.bogus").serverInfo() }

        // A client given both, the standby first, follows the standby to the active server.
        let both = APIClient(server: "http://127.0.0.1:\(second.port), http://127.0.0.1:\(first.port)/", token: first.adminToken, environment: [:])
        #expect(try await both.describe(run: "demo").activeRevision == 1)
        #expect(both.server == active)

        // Killed with SIGKILL, the first renews no more: once its lease ends the standby takes over, finds everything
        // the first acknowledged, and the admin token still works (it is in the store, not the process).
        first.kill9()
        try wait(30, "the standby to take over") { text(second).contains("active (lease epoch 2) as http://127.0.0.1:\(second.port)") }
        #expect(try await both.describe(run: "demo").activeRevision == 1)
        #expect(both.server == "http://127.0.0.1:\(second.port)")
        #expect(try await both.events(of: "demo").map(\.kind).contains("Applied"))
        #expect(try await both.apply(spec: spec(replicas: 2)).revision == 2)
        #expect(try await both.serverInfo().epoch == 2)
        // The password is in no output.
        #expect(![first, second].contains { text($0).contains(cluster.password) })
    }

    @Test func badLocationsAndCredentialsAreRefusedWithTheReason() throws {
        let good = try cluster.createDatabase()
        let other = FileManager.default.temporaryDirectory.appendingPathComponent("ca-\(UUID())")
        try CertificateAuthority.create(in: other)
        let wrongPassword = FileManager.default.temporaryDirectory.appendingPathComponent("pgpass-\(UUID())")
        FileManager.default.createFile(atPath: wrongPassword.path, contents: Data("not-it\n".utf8))
        let cases: [([String], String)] = [
            (["--store", good.replacingOccurrences(of: "intermesh@", with: "intermesh:hunter2@")], "put no password in the URL"),
            (["--store", good.replacingOccurrences(of: "intermesh@", with: "")], "names no user"),
            (["--store", good + "?sslmode=maybe"], "sslmode must be one of disable, prefer, require, verify-full"),
            (["--store", "mysql://u@h/db"], "must be sqlite:DIR or postgres://"),
            (["--store", good, "--store-password-file", wrongPassword.path], "password authentication failed"),
            (["--store", good + "?sslmode=verify-full&sslrootcert=\(other.appendingPathComponent("ca.pem").path)", "--store-password-file", passwordFile.path],
             "cannot open the store"),
            (["--store-password-file", passwordFile.path], "goes with a postgres:// --store"),
        ]
        for (arguments, message) in cases {
            let server = ServerProcess(options: arguments + ["--lighthouse-port", "off"])
            #expect(throws: ServerFailure.self) { try server.start() }
            server.process?.waitUntilExit()
            #expect(server.process?.terminationStatus != 0)
            #expect(text(server).contains(message), "\(arguments): \(text(server))")
            #expect(!text(server).contains("hunter2") && !text(server).contains(cluster.password))
        }
    }
}
