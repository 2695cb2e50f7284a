import Foundation

/// A minimal blocking HTTP/1.1 JSON client over `Socket`, for the engine's calls to the control plane
/// (the engine's threads are plain threads; each call has a deadline).
enum HTTPCall {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// POSTs `json` and returns the status and the decoded JSON object of the answer.
    static func post(_ base: String, _ path: String, token: String?, json: [String: Any], timeout: Double) throws -> (Int, [String: Any]) {
        let body = try JSONSerialization.data(withJSONObject: json)
        return try call("POST", base, path, token: token, body: body, timeout: timeout)
    }

    /// GETs `path` and returns the status and the decoded JSON object of the answer.
    static func get(_ base: String, _ path: String, token: String?, timeout: Double) throws -> (Int, [String: Any]) {
        try call("GET", base, path, token: token, body: nil, timeout: timeout)
    }

    static func call(_ method: String, _ base: String, _ path: String, token: String?, body: Data?, timeout: Double) throws -> (Int, [String: Any]) {
        guard let url = URL(string: base), url.scheme == "http", let host = url.host else {
            throw Failure(description: "control plane URL must be http://HOST:PORT, got \(base)")
        }
        let port = url.port ?? 80
        let body = body ?? Data()
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nContent-Type: application/json\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        head += "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        let socket = try Socket.connect(host: host, port: port, timeout: timeout)
        defer { socket.close() }
        try socket.send(Array(head.utf8) + [UInt8](body))
        var response: [UInt8] = []
        while let chunk = try? socket.receive(upTo: 65536), !chunk.isEmpty { response += chunk }
        guard let split = response.firstRange(of: Array("\r\n\r\n".utf8)) else { throw Failure(description: "malformed HTTP answer") }
        let header = String(decoding: response[..<split.lowerBound], as: UTF8.self)
        var payload = Array(response[split.upperBound...])
        let lines = header.split(separator: "\r\n")
        guard let statusLine = lines.first, let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") else {
            throw Failure(description: "malformed HTTP status line")
        }
        if lines.contains(where: { $0.lowercased() == "transfer-encoding: chunked" }) { payload = dechunk(payload) }
        let object = (try? JSONSerialization.jsonObject(with: Data(payload))) as? [String: Any] ?? [:]
        return (status, object)
    }

    static func dechunk(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var index = 0
        while let end = bytes[index...].firstRange(of: Array("\r\n".utf8)) {
            guard let size = Int(String(decoding: bytes[index..<end.lowerBound], as: UTF8.self), radix: 16), size > 0,
                  end.upperBound + size <= bytes.count else { break }
            out += bytes[end.upperBound..<(end.upperBound + size)]
            index = end.upperBound + size + 2
            if index >= bytes.count { break }
        }
        return out
    }
}

extension Socket {
    /// Whatever arrives next, at most `count` bytes; empty at end of stream.
    func receive(upTo count: Int) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, count, 0) }
        if n < 0 { throw Failure(description: "receive: \(String(cString: strerror(errno)))") }
        return Array(buffer.prefix(n))
    }
}
