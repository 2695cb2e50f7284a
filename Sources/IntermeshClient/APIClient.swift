import AsyncHTTPClient
import Foundation
import IntermeshAPI
import IntermeshTLS
import NIOCore
import NIOHTTP1
import Synchronization

/// A failure the server reported (its JSON error), or one reaching it.
public struct APIClientError: Error, CustomStringConvertible, Sendable {
    /// HTTP status; 0 when the server could not be reached.
    public var status: Int
    public var code: String
    public var message: String
    public var details: [String]
    /// A standby's answer names the active server here.
    public var active: String?

    public var description: String {
        ([message] + details).joined(separator: "\n  ")
    }

    public init(status: Int, code: String, message: String, details: [String]) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
    }

    /// From an error answer: the server's `ErrorBody`, or the bare status when the body is not one.
    init(status: Int, body: Data) {
        if let reported = try? WireCoding.decoder.decode(ErrorBody.self, from: body) {
            self.init(status: status, code: reported.error.code, message: reported.error.message, details: reported.error.details ?? [])
            active = reported.error.active
        } else {
            self.init(status: status, code: "http_\(status)", message: "the server answered \(status)", details: [])
        }
    }
}

/// Talks to `intermesh serve` over HTTP with a bearer token. Given several servers (a comma-separated list: servers
/// sharing a PostgreSQL store), it sends to the one it last found active, and moves on when that one cannot be reached
/// or answers that it is a standby (following the active server the standby names).
public struct APIClient: Sendable {
    /// The servers, in the order given; one entry for a server of its own.
    public let servers: [String]
    /// Which of `servers` answered last, shared by copies of this client.
    let active: ActiveServer
    /// The server requests go to now.
    public var server: String { servers[active.index] }
    public var token: String?
    public var timeout: TimeAmount
    let httpClient: HTTPClient?
    /// The async-http-client it sends with: the one given, else the process-wide one (created on first use only, so
    /// a client with a `transport` starts no event loop).
    public var http: HTTPClient { httpClient ?? tlsClient ?? .shared }
    /// The client of this TLS configuration (`--ca-file`, `$INTERMESH_CA`, a client certificate), shared per process.
    let tlsClient: HTTPClient?
    let tlsFailure: String?
    /// Carries requests instead of `http` when set (the reference engine's MPI processes keep NIO out, see
    /// `CurlTransport`); event streams always go through `http`.
    public var transport: (any HTTPTransport)?

    /// `--server`, else `$INTERMESH_SERVER`, else http://127.0.0.1:7700; `--token`, else `$INTERMESH_TOKEN`. `tls`, else
    /// `$INTERMESH_CA` (the authority the server's certificate must chain to) and `$INTERMESH_CLIENT_CERT` and
    /// `$INTERMESH_CLIENT_KEY` (for a server that requires client certificates).
    public init(server: String?, token: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
                timeout: TimeAmount = .seconds(30), http: HTTPClient? = nil, transport: (any HTTPTransport)? = nil,
                tls: ClientTLS? = nil) {
        httpClient = http
        let tls = tls ?? ClientTLS(environment: environment)
        let secure = (server ?? environment["INTERMESH_SERVER"] ?? "").lowercased().contains("https://")
        let list = Self.serverList(server ?? environment["INTERMESH_SERVER"] ?? "")
        // A TLS file that cannot be read fails every call with its path, not the process.
        do {
            // With several servers a dead one must fail at once, so the next is asked: no retried connection attempts.
            let failFast = list.count > 1
            tlsClient = http == nil && transport == nil && (secure || !tls.isEmpty || failFast) ? try TLSClients.shared.client(for: tls, failFast: failFast) : nil
            tlsFailure = nil
        } catch {
            tlsClient = nil
            tlsFailure = "\(error)"
        }
        self.transport = transport
        servers = list.isEmpty ? ["http://127.0.0.1:7700"] : list
        active = ActiveServer()
        self.token = token ?? environment["INTERMESH_TOKEN"]
        self.timeout = timeout
    }

    public static var decoder: JSONDecoder { WireCoding.decoder }

    /// `a,b,c` as URLs without trailing slashes; blanks dropped.
    static func serverList(_ text: String) -> [String] {
        text.split(separator: ",").map { entry in
            var url = entry.trimmingCharacters(in: .whitespaces)
            while url.hasSuffix("/") { url.removeLast() }
            return url
        }.filter { !$0.isEmpty }
    }

    /// Sends a request; a non-2xx answer becomes an `APIClientError` carrying the server's message. `timeout`
    /// overrides the client's (a long poll needs longer than its own wait). With several servers, a server that cannot
    /// be reached or is not active passes the request on: to the active server it names, else the next one; after a
    /// round that found none active (a takeover under way) it waits a moment before the next.
    public func send(_ method: HTTPMethod, _ path: String, body: Data? = nil, timeout: TimeAmount? = nil) async throws -> (status: Int, body: Data) {
        var tried = 0
        // Servers found unreachable in this round: a standby may still name one as active until its lease runs out.
        var unreachable: Set<Int> = []
        while true {
            let index = active.index
            do {
                return try await send(to: servers[index], method, path, body: body, timeout: timeout)
            } catch let error as APIClientError where servers.count > 1 && error.isNotActive {
                tried += 1
                guard tried < 3 * servers.count else { throw error }
                if error.status == 0 { unreachable.insert(index) }
                let named = error.active.map { Self.serverList($0) }?.first.flatMap { servers.firstIndex(of: $0) }.flatMap { unreachable.contains($0) ? nil : $0 }
                active.move(from: index, to: named ?? (index + 1) % servers.count)
                if tried % servers.count == 0 {
                    unreachable = []
                    try await Task.sleep(for: .milliseconds(500))
                }
            }
        }
    }

    func send(to server: String, _ method: HTTPMethod, _ path: String, body: Data?, timeout: TimeAmount?) async throws -> (status: Int, body: Data) {
        if let tlsFailure { throw APIClientError(status: 0, code: "tls", message: tlsFailure, details: []) }
        if let transport {
            var headers: [(String, String)] = []
            if let token { headers.append(("Authorization", "Bearer \(token)")) }
            if body != nil { headers.append(("Content-Type", "application/json")) }
            let answer: (status: Int, body: Data)
            do {
                answer = try await transport.send(method: method.rawValue, url: server + path, headers: headers, body: body,
                                                  timeout: TimeInterval((timeout ?? self.timeout).nanoseconds) / 1e9)
            } catch {
                throw APIClientError(status: 0, code: "unreachable", message: "cannot reach the control plane at \(server): \(error)", details: [])
            }
            guard (200..<300).contains(answer.status) else { throw APIClientError(status: answer.status, body: answer.body) }
            return answer
        }
        var request = HTTPClientRequest(url: server + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: timeout ?? self.timeout)
        } catch {
            throw APIClientError(status: 0, code: "unreachable", message: "cannot reach the control plane at \(server): \(error)", details: [])
        }
        let buffer = try await response.body.collect(upTo: 64 * 1024 * 1024)
        let data = Data(buffer.readableBytesView)
        let status = Int(response.status.code)
        guard (200..<300).contains(status) else { throw APIClientError(status: status, body: data) }
        return (status, data)
    }

    public func get<T: Decodable>(_ path: String, as type: T.Type = T.self) async throws -> T {
        try Self.decoder.decode(type, from: try await send(.GET, path).body)
    }

    /// POSTs a typed body and decodes the typed answer.
    public func post<Body: Encodable, T: Decodable>(_ path: String, _ body: Body, as type: T.Type = T.self,
                                                     timeout: TimeAmount? = nil) async throws -> T {
        let data = try WireCoding.encoder.encode(body)
        return try Self.decoder.decode(type, from: try await send(.POST, path, body: data, timeout: timeout).body)
    }

    /// POSTs arbitrary JSON (tests send what no typed body can: wrong types, unknown fields).
    public func post<T: Decodable>(_ path: String, json: [String: Any], as type: T.Type = T.self) async throws -> T {
        let body = try JSONSerialization.data(withJSONObject: json)
        return try Self.decoder.decode(type, from: try await send(.POST, path, body: body).body)
    }
}

extension APIClient {
    /// The server's `/v1/metrics` (Prometheus text format): each series, its name with its labels, and its value.
    public func metrics() async throws -> [String: Double] {
        var series: [String: Double] = [:]
        for line in String(decoding: try await send(.GET, "/v1/metrics").body, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            series[String(line[..<space])] = value
        }
        return series
    }

    /// The `data:` payloads of a server-sent event stream, as they arrive.
    public func events(_ path: String) async throws -> AsyncThrowingStream<Data, Error> {
        var request = HTTPClientRequest(url: server + path)
        request.headers.add(name: "Accept", value: "text/event-stream")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .hours(24 * 365))
        } catch {
            throw APIClientError(status: 0, code: "unreachable", message: "cannot reach the control plane at \(server): \(error)", details: [])
        }
        guard response.status.code == 200 else {
            let data = Data((try await response.body.collect(upTo: 1 << 20)).readableBytesView)
            throw APIClientError(status: Int(response.status.code), body: data)
        }
        let body = response.body
        return AsyncThrowingStream { continuation in
            let task = Task {
                var pending = ""
                do {
                    for try await chunk in body {
                        pending += String(buffer: chunk)
                        while let end = pending.range(of: "\n\n") {
                            let block = pending[..<end.lowerBound]
                            pending = String(pending[end.upperBound...])
                            for line in block.split(separator: "\n") where line.hasPrefix("data: ") {
                                continuation.yield(Data(line.dropFirst(6).utf8))
                            }
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

extension APIClientError {
    /// The server could not take the request as the active one: unreachable, a standby, or past its lease.
    var isNotActive: Bool {
        (status == 0 && code == "unreachable") || (status == 503 && (code == "standby" || code == "not_active"))
    }
}

/// The index of the server a client's copies send to.
final class ActiveServer: Sendable {
    private let current = Mutex(0)

    var index: Int { current.withLock { $0 } }

    /// Moves on from `from`, unless another request moved already.
    func move(from: Int, to: Int) {
        current.withLock { if $0 == from { $0 = to } }
    }
}

/// One async-http-client per TLS configuration, for the life of the process (like `HTTPClient.shared`).
final class TLSClients: Sendable {
    struct Key: Hashable {
        var tls: ClientTLS
        var failFast: Bool
    }

    static let shared = TLSClients()
    private let clients = Mutex<[Key: HTTPClient]>([:])

    /// `failFast`: a connection that cannot be made fails its request at once instead of being tried again until the
    /// request's deadline (a client with other servers to ask).
    func client(for tls: ClientTLS, failFast: Bool = false) throws -> HTTPClient {
        let key = Key(tls: tls, failFast: failFast)
        if let client = clients.withLock({ $0[key] }) { return client }
        let configuration = try tls.configuration()
        return clients.withLock { clients in
            if let client = clients[key] { return client }
            var settings = HTTPClient.Configuration()
            settings.tlsConfiguration = configuration
            // A connection that fails (a certificate that does not verify among them) is tried again with backoff, but
            // a request fails after 5 s of that rather than at its own deadline.
            settings.timeout.connect = .seconds(5)
            settings.connectionPool.retryConnectionEstablishment = !failFast
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: settings)
            clients[key] = client
            return client
        }
    }
}
