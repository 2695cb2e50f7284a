import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// How `APIClient` sends a request, when not through async-http-client.
public protocol HTTPTransport: Sendable {
    func send(method: String, url: String, headers: [(String, String)], body: Data?, timeout: TimeInterval) async throws -> (status: Int, body: Data)
}

/// Requests through Foundation's URLSession (libcurl on Linux), for the reference engine: its ranks are MPI
/// processes, and SwiftNIO's event loops there clash with Open MPI's at `MPI_Finalize` (measured: the leader
/// crashed at exit, or Open MPI's event loop found its descriptor closed and mpirun exited 1). libcurl keeps to
/// its own descriptors and needs no shutdown.
public final class URLSessionTransport: HTTPTransport, @unchecked Sendable {
    let session: URLSession

    public init() {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 4
        session = URLSession(configuration: configuration)
    }

    public func send(method: String, url: String, headers: [(String, String)], body: Data?, timeout: TimeInterval) async throws -> (status: Int, body: Data) {
        guard let target = URL(string: url) else { throw URLError(.badURL) }
        var request = URLRequest(url: target, timeoutInterval: timeout)
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = body
        return try await withCheckedThrowingContinuation { continuation in
            session.dataTask(with: request) { data, response, error in
                if let error {
                    continuation.resume(throwing: error)
                } else {
                    continuation.resume(returning: ((response as? HTTPURLResponse)?.statusCode ?? 0, data ?? Data()))
                }
            }.resume()
        }
    }

    /// Cancels what is in flight; later requests fail.
    public func close() {
        session.invalidateAndCancel()
    }
}
