import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import IntermeshAPI
import IntermeshClient
import IntermeshServer
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// One client cannot starve the others: per-token budgets, connections that send nothing, bounded spec compilation.
@Suite(.serialized) struct ServerLimitsTests {
    let server = ServerProcess(options: ["--token-rate", "5", "--idle-timeout", "1s"])

    init() throws {
        try server.start()
    }

    func get(_ path: String, token: String) async throws -> (status: Int, retryAfter: String?) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(server.port)\(path)")!)
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        let (_, response) = try await URLSession.shared.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        return (http.statusCode, http.value(forHTTPHeaderField: "Retry-After"))
    }

    @Test func aTokenOverItsBudgetGets429AndOtherTokensAreServed() async throws {
        let viewer = try await server.client().createToken(TokenRequest(role: .viewer)).token
        // At once, so that the budget (5 a second, bursts of 10) cannot refill between them however slow the machine.
        let answers = try await withThrowingTaskGroup(of: (status: Int, retryAfter: String?).self) { group in
            for _ in 0..<40 { group.addTask { try await get("/v1/runs", token: viewer) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let limited = answers.filter { $0.status == 429 }
        #expect(!limited.isEmpty && limited.allSatisfy { $0.retryAfter.flatMap(Int.init).map { $0 >= 1 } ?? false })
        #expect(answers.filter { $0.status == 200 }.count >= 10, "the burst is served")
        #expect(answers.allSatisfy { $0.status == 200 || $0.status == 429 })
        #expect(try await get("/v1/runs", token: server.adminToken).status == 200)
        try await Task.sleep(for: .milliseconds(1500))
        #expect(try await get("/v1/runs", token: viewer).status == 200)
    }

    /// 400 idle connections used to hold the process's file limit until they closed, locking every client out.
    @Test func aConnectionThatSendsNoCompleteRequestIsClosed() async throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(descriptor >= 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(server.port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(connected == 0)
        // Half a request head, then nothing.
        let partial = "GET /v1/runs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        #expect(partial.withCString { send(descriptor, $0, strlen($0), 0) } == partial.utf8.count)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let started = Date()
        var buffer = [UInt8](repeating: 0, count: 256)
        let read = recv(descriptor, &buffer, buffer.count, 0)
        // Closed by the server (end of stream) well before the 10 s receive timeout.
        #expect(read == 0, "read \(read) after \(Date().timeIntervalSince(started)) s")
        #expect(Date().timeIntervalSince(started) < 9)
    }
}

@Suite struct CompileQueueTests {
    /// Past its workers and backlog the queue refuses at once (503 at the API) instead of queueing without bound.
    @Test func workBeyondTheBacklogIsRefusedAndTheRestRuns() async throws {
        let queue = CompileQueue(workers: 1, backlog: 1)
        let gate = DispatchSemaphore(value: 0)
        async let first = queue.run { gate.wait(); return 1 }
        try await Task.sleep(for: .milliseconds(100))
        async let second = queue.run { 2 }
        try await Task.sleep(for: .milliseconds(100))
        await #expect(throws: ControlPlaneError.self) { try await queue.run { 3 } }
        gate.signal()
        #expect(try await first == 1)
        #expect(try await second == 2)
        #expect(try await queue.run { 4 } == 4)
    }
}
