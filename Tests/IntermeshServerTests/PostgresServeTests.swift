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

    @Test func theStateLivesInPostgreSQLAndOneServerHoldsTheStore() async throws {
        let url = try cluster.createDatabase(query: "sslmode=verify-full&sslrootcert=\(cluster.authority.path)")
        let options = ["--store", url, "--store-password-file", passwordFile.path, "--lighthouse-port", "off"]
        let first = ServerProcess(options: options)
        defer { first.stop() }
        try first.start()
        #expect(text(first).contains("data in postgres://intermesh@127.0.0.1:\(cluster.port)/"))
        let applied: ApplyResponse = try await first.client().post("/v1/runs", json: ["spec": spec()])
        #expect(applied.revision == 1)

        // A second server on the same store is refused, saying why; the first goes on.
        let second = ServerProcess(options: options)
        #expect(throws: ServerFailure.self) { try second.start() }
        #expect(text(second).contains("another server has this store open"), "\(text(second))")
        #expect(try await first.client().describe(run: "demo").activeRevision == 1)

        // Killed with SIGKILL, the first frees the store with its session: the next server finds everything it
        // acknowledged, and the admin token still works (it is in the store, not the process).
        first.kill9()
        let third = ServerProcess(data: first.data, options: options)
        defer { third.stop() }
        try third.start()
        let api = third.client()
        #expect(try await api.describe(run: "demo").activeRevision == 1)
        #expect(try await api.events(of: "demo").map(\.kind).contains("Applied"))
        #expect(try await api.apply(spec: spec(replicas: 2)).revision == 2)
        // The password is in no output.
        #expect(![first, second, third].contains { text($0).contains(cluster.password) })
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
