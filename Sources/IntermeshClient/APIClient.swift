import AsyncHTTPClient
import Foundation
import IntermeshControl
import NIOCore
import NIOHTTP1

/// A failure the server reported (its JSON error), or one reaching it.
public struct APIClientError: Error, CustomStringConvertible, Sendable {
    /// HTTP status; 0 when the server could not be reached.
    public var status: Int
    public var code: String
    public var message: String
    public var details: [String]

    public var description: String {
        ([message] + details).joined(separator: "\n  ")
    }
}

/// Talks to `intermesh serve` over HTTP with a bearer token.
public struct APIClient: Sendable {
    public var server: String
    public var token: String?
    public var timeout: TimeAmount
    public var http: HTTPClient

    /// `--server`, else `$INTERMESH_SERVER`, else http://127.0.0.1:7700; `--token`, else `$INTERMESH_TOKEN`.
    public init(server: String?, token: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
                timeout: TimeAmount = .seconds(30), http: HTTPClient = .shared) {
        self.http = http
        var base = server ?? environment["INTERMESH_SERVER"] ?? "http://127.0.0.1:7700"
        while base.hasSuffix("/") { base.removeLast() }
        self.server = base
        self.token = token ?? environment["INTERMESH_TOKEN"]
        self.timeout = timeout
    }

    public static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = Timestamps.decoding
        return decoder
    }()

    /// Sends a request; a non-2xx answer becomes an `APIClientError` carrying the server's message.
    public func send(_ method: HTTPMethod, _ path: String, body: Data? = nil) async throws -> (status: Int, body: Data) {
        var request = HTTPClientRequest(url: server + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: timeout)
        } catch {
            throw APIClientError(status: 0, code: "unreachable", message: "cannot reach the control plane at \(server): \(error)", details: [])
        }
        let buffer = try await response.body.collect(upTo: 64 * 1024 * 1024)
        let data = Data(buffer.readableBytesView)
        let status = Int(response.status.code)
        guard (200..<300).contains(status) else {
            if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let error = object["error"] as? [String: Any] {
                throw APIClientError(status: status, code: error["code"] as? String ?? "error", message: error["message"] as? String ?? "\(status)",
                                     details: error["details"] as? [String] ?? [])
            }
            throw APIClientError(status: status, code: "http_\(status)", message: "the server answered \(status)", details: [])
        }
        return (status, data)
    }

    public func get<T: Decodable>(_ path: String, as type: T.Type = T.self) async throws -> T {
        try Self.decoder.decode(type, from: try await send(.GET, path).body)
    }

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
            let error = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["error"] as? [String: Any]
            throw APIClientError(status: Int(response.status.code), code: error?["code"] as? String ?? "error",
                                 message: error?["message"] as? String ?? "the server answered \(response.status.code)", details: [])
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
