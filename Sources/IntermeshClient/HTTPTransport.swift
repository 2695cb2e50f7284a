import Foundation

/// How `APIClient` sends a request, when not through async-http-client.
public protocol HTTPTransport: Sendable {
    func send(method: String, url: String, headers: [(String, String)], body: Data?, timeout: TimeInterval) async throws -> (status: Int, body: Data)
}
