import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import IntermeshAPI
import IntermeshClient
import IntermeshLighthouse
import IntermeshTLS
import Testing

/// The control plane over TLS with a private authority made by `intermesh ca`: clients verify it; with
/// --tls-client-ca it verifies them; gRPC (the Lighthouse endpoint) uses the same certificate.
@Suite(.serialized) struct TLSTests {
    static let authority: URL = {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ca-\(UUID())")
        let ca = try! CertificateAuthority.create(in: directory)
        try! ca.issue(name: "server", hosts: ["127.0.0.1", "localhost"], in: directory)
        try! ca.issue(name: "agent", hosts: [], in: directory)
        return directory
    }()

    static func file(_ name: String) -> String { authority.appendingPathComponent(name).path }

    static let trusting = ClientTLS(caFile: file("ca.pem"))

    func server(_ extra: [String] = []) throws -> ServerProcess {
        let server = ServerProcess(options: ["--tls-cert", Self.file("server.pem"), "--tls-key", Self.file("server.key"), "--lighthouse-port", "0"] + extra)
        try server.start()
        return server
    }

    @Test func clientsVerifyTheServerAgainstTheAuthority() async throws {
        let server = try server()
        _ = try await server.client(tls: Self.trusting).runs()
        // Without the authority the server's certificate is refused: nothing is sent, not even the token.
        await expectError(0, "unreachable") { _ = try await server.client().runs() }
        // An authority of its own does not vouch for this server.
        let other = FileManager.default.temporaryDirectory.appendingPathComponent("ca-\(UUID())")
        try CertificateAuthority.create(in: other)
        await expectError(0, "unreachable") {
            _ = try await server.client(tls: ClientTLS(caFile: other.appendingPathComponent("ca.pem").path)).runs()
        }
        // Plain HTTP to the TLS port gets nothing.
        await expectError(0, "unreachable") {
            _ = try await APIClient(server: "http://127.0.0.1:\(server.port)", token: server.adminToken, environment: [:]).runs()
        }
        // A CA file that is not one fails with its path.
        await expectError(0, "tls") { _ = try await server.client(tls: ClientTLS(caFile: "/nonexistent/ca.pem")).runs() }
    }

    @Test func mutualTLSRequiresAClientCertificateOfTheAuthority() async throws {
        let server = try server(["--tls-client-ca", Self.file("ca.pem")])
        await expectError(0, "unreachable") { _ = try await server.client(tls: Self.trusting).runs() }
        let agent = ClientTLS(caFile: Self.file("ca.pem"), certificate: Self.file("agent.pem"), key: Self.file("agent.key"))
        _ = try await server.client(tls: agent).runs()
    }

    /// The reference engine's transport (libcurl, no NIO in MPI processes) trusts the run's authority, presents the
    /// agent's certificate, and carries every method the engine and the CLI use.
    @Test func theEngineTransportVerifiesTheServerAndPresentsItsCertificate() async throws {
        let server = try server(["--tls-client-ca", Self.file("ca.pem")])
        func client(_ tls: ClientTLS) -> APIClient {
            APIClient(server: "https://127.0.0.1:\(server.port)", token: server.adminToken, environment: [:], timeout: .seconds(10),
                      transport: CurlTransport(tls: tls))
        }
        let agent = client(ClientTLS(caFile: Self.file("ca.pem"), certificate: Self.file("agent.pem"), key: Self.file("agent.key")))
        let created = try await agent.createToken(TokenRequest(role: .viewer, description: "through libcurl"))
        #expect(try await agent.tokens().contains { $0.id == created.id })
        _ = try await agent.revokeToken(id: created.id)
        #expect(try await !agent.tokens().contains { $0.id == created.id })
        await expectError(422, "invalid_spec") { _ = try await agent.apply(spec: "apiVersion: intermesh/v1\nkind: [\n") }
        // Without a client certificate the server refuses the handshake; without the authority the client refuses the
        // server; an authority of its own does not vouch for it.
        await expectError(0, "unreachable") { _ = try await client(Self.trusting).runs() }
        await expectError(0, "unreachable") {
            _ = try await client(ClientTLS(certificate: Self.file("agent.pem"), key: Self.file("agent.key"))).runs()
        }
        let other = FileManager.default.temporaryDirectory.appendingPathComponent("ca-\(UUID())")
        try CertificateAuthority.create(in: other)
        await expectError(0, "unreachable") {
            _ = try await client(ClientTLS(caFile: other.appendingPathComponent("ca.pem").path, certificate: Self.file("agent.pem"),
                                           key: Self.file("agent.key"))).runs()
        }
    }

    @Test func theLighthouseEndpointServesTLSWithTheSameCertificate() async throws {
        let server = try server()
        let port = try #require(server.lighthousePort)
        func heartbeat(_ security: HTTP2ClientTransport.Posix.TransportSecurity) async throws {
            let client = GRPCClient(transport: try .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: security))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await client.runConnections() }
                defer { client.beginGracefulShutdown() }
                var request = Torchft_LighthouseHeartbeatRequest()
                request.replicaID = "nope/alpha/0/m-1/0:x"
                var options = CallOptions.defaults
                options.timeout = .seconds(5)
                _ = try await Torchft_LighthouseService.Client(wrapping: client).heartbeat(request: .init(message: request), options: options)
            }
        }
        // Through TLS the service answers (no such run): the handshake succeeded.
        await #expect { try await heartbeat(.tls { $0.trustRoots = .certificates([.file(path: Self.file("ca.pem"), format: .pem)]) }) } throws: {
            ($0 as? RPCError)?.code == .notFound
        }
        await #expect { try await heartbeat(.plaintext) } throws: { ($0 as? RPCError)?.code == .unavailable }
    }

    /// Plain HTTP beyond loopback needs an explicit flag, and then warns.
    @Test func plainHTTPBeyondLoopbackNeedsAFlag() throws {
        func serve(_ extra: [String]) throws -> (status: Int32, output: String) {
            let data = FileManager.default.temporaryDirectory.appendingPathComponent("serve-\(UUID())")
            let process = Process()
            process.executableURL = URL(fileURLWithPath: ServerProcess.binary)
            process.arguments = ["serve", "--data", data.path, "--listen", "0.0.0.0:0", "--lighthouse-port", "off"] + extra
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            let deadline = Date().addingTimeInterval(20)
            var text = ""
            while process.isRunning, Date() < deadline, !text.contains("listening on") {
                usleep(100_000)
                text += String(decoding: pipe.fileHandleForReading.availableData, as: UTF8.self)
            }
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            return (process.terminationStatus, text + String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        }
        let refused = try serve([])
        #expect(refused.status == 2 && refused.output.contains("beyond loopback"), "\(refused.output)")
        let warned = try serve(["--insecure-plain-http"])
        #expect(warned.output.contains("warning: serving plain HTTP on 0.0.0.0") && warned.output.contains("listening on http://0.0.0.0:"), "\(warned.output)")
    }
}

@Suite struct CertificateAuthorityTests {
    @Test func anAuthorityIsNotReplacedAndBadNamesAreRefused() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ca-\(UUID())")
        let ca = try CertificateAuthority.create(in: directory)
        #expect(throws: TLSFileError.self) { try CertificateAuthority.create(in: directory) }
        #expect(throws: TLSFileError.self) { try ca.issue(name: "Server;rm", hosts: [], in: directory) }
        #expect(throws: TLSFileError.self) { try ca.issue(name: "server", hosts: ["bad host"], in: directory) }
        #expect(throws: TLSFileError.self) { try CertificateAuthority.load(from: directory.appendingPathComponent("missing")) }
        let files = try CertificateAuthority.load(from: directory).issue(name: "server", hosts: ["10.0.0.5", "cp.example.net", "::1"], in: directory)
        let mode = try FileManager.default.attributesOfItem(atPath: files.key.path)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
        let caMode = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent("ca.key").path)[.posixPermissions] as? NSNumber
        #expect(caMode?.intValue == 0o600)
    }
}
