import Foundation
import IntermeshClient
import IntermeshTLS
import TestServices
import Testing

/// A real `intermesh serve` on a free loopback port, with its admin token; killed on request.
final class ServerProcess: @unchecked Sendable {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var binary: String {
        if let explicit = ProcessInfo.processInfo.environment["INTERMESH_BIN"] { return explicit }
        let beside = Bundle.main.bundleURL.appendingPathComponent("intermesh").path
        return FileManager.default.isExecutableFile(atPath: beside) ? beside : root.appendingPathComponent(".build/debug/intermesh").path
    }

    let data: URL
    var process: Process?
    var port = 0
    var adminToken = ""
    let output: URL
    /// More `serve` options (limits a test wants small).
    let options: [String]

    init(data: URL? = nil, options: [String] = []) {
        self.data = data ?? FileManager.default.temporaryDirectory.appendingPathComponent("serve-\(UUID())")
        output = self.data.appendingPathExtension("log")
        self.options = options
    }

    /// Starts the server and waits until it listens.
    func start() throws {
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let tokenFile = data.appendingPathComponent("admin.token")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["serve", "--data", data.path, "--listen", "127.0.0.1:0", "--admin-token-file", tokenFile.path] + options
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        self.process = process
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            // A server on a shared store may start as a standby: it listens, and answers who is active.
            if let range = text.range(of: "listening on \(scheme)://127.0.0.1:") ?? text.range(of: "standby on \(scheme)://127.0.0.1:") {
                port = Int(text[range.upperBound...].prefix { $0.isNumber }) ?? 0
                if adminToken.isEmpty {
                    adminToken = ((try? String(contentsOf: tokenFile, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
                }
                return
            }
            guard process.isRunning else { break }
            usleep(50_000)
        }
        throw ServerFailure(description: "server did not start: \((try? String(contentsOf: output, encoding: .utf8)) ?? "")")
    }

    func kill9() {
        guard let process else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func stop() {
        guard let process, process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    /// https when the server was given a certificate.
    var scheme: String { options.contains("--tls-cert") ? "https" : "http" }

    /// The Lighthouse port from the server's first line.
    var lighthousePort: Int? {
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        return text.firstMatch(of: /Lighthouse \(torchft\) on 127\.0\.0\.1:(\d+)/).flatMap { Int($0.1) }
    }

    func client(token: String? = nil, tls: ClientTLS = ClientTLS()) -> APIClient {
        APIClient(server: "\(scheme)://127.0.0.1:\(port)", token: token ?? adminToken, environment: [:], tls: tls)
    }

    deinit { stop() }
}

struct ServerFailure: Error, CustomStringConvertible {
    var description: String
}

func spec(name: String = "demo", replicas: Int = 1, sites: [String] = ["alpha", "beta"]) -> String {
    TinySpec.text(name: name, sites: sites, replicas: replicas)
}

/// Runs `body` and expects it to fail with this HTTP status and error code.
func expectError(_ status: Int, _ code: String, sourceLocation: Testing.SourceLocation = #_sourceLocation,
                 _ body: () async throws -> Void) async {
    do {
        try await body()
        Issue.record("expected \(status) \(code)", sourceLocation: sourceLocation)
    } catch let error as APIClientError {
        #expect(error.status == status, "\(error)", sourceLocation: sourceLocation)
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
    }
}
