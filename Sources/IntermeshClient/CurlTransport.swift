import CCurl
import Foundation
import IntermeshTLS
import Synchronization

/// Requests through libcurl, for the reference engine: its ranks are MPI processes, and SwiftNIO's event loops there
/// clash with Open MPI's at `MPI_Finalize` (measured: the leader crashed at exit, or Open MPI's event loop found its
/// descriptor closed and mpirun exited 1). libcurl keeps to its own descriptors and needs no shutdown. Unlike
/// Foundation's URLSession on Linux, it trusts the authority the client is given (`$INTERMESH_CA`) and presents a
/// client certificate for mutual TLS.
public final class CurlTransport: HTTPTransport, Sendable {
    /// Larger answers fail the call instead of growing the process (the control plane's largest is a revision).
    public static let maximumAnswer = 64 << 20

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    let tls: ClientTLS
    /// Easy handles between calls: each keeps its connections open, so a heartbeat a second reuses one TLS session.
    let idle = Mutex<[Handle]>([])
    let closed = Atomic<Bool>(false)
    static let initialized: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

    /// `tls`, else `$INTERMESH_CA`, `$INTERMESH_CLIENT_CERT` and `$INTERMESH_CLIENT_KEY`.
    public init(tls: ClientTLS? = nil) {
        self.tls = tls ?? ClientTLS(environment: ProcessInfo.processInfo.environment)
    }

    deinit {
        for handle in idle.withLock({ $0 }) { curl_easy_cleanup(handle.pointer) }
    }

    public func send(method: String, url: String, headers: [(String, String)], body: Data?, timeout: TimeInterval) async throws -> (status: Int, body: Data) {
        guard !closed.load(ordering: .relaxed) else { throw Failure(description: "the transport is closed") }
        // libcurl's calls block: each runs on a thread of its own, off the caller's.
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try self.perform(method: method, url: url, headers: headers, body: body, timeout: timeout) })
            }
        }
    }

    /// Closes idle connections; later requests fail.
    public func close() {
        closed.store(true, ordering: .relaxed)
        for handle in idle.withLock({ list in defer { list.removeAll() }; return list }) { curl_easy_cleanup(handle.pointer) }
    }

    func perform(method: String, url: String, headers: [(String, String)], body: Data?, timeout: TimeInterval) throws -> (status: Int, body: Data) {
        guard Self.initialized, let handle = idle.withLock({ $0.popLast()?.pointer }) ?? curl_easy_init() else {
            throw Failure(description: "libcurl could not start")
        }
        var list: UnsafeMutablePointer<curl_slist>?
        defer {
            curl_slist_free_all(list)
            curl_easy_reset(handle)
            let kept = !closed.load(ordering: .relaxed) && idle.withLock { handles in
                guard handles.count < 4 else { return false }
                handles.append(Handle(pointer: handle))
                return true
            }
            if !kept { curl_easy_cleanup(handle) }
        }
        // "Expect:" turns off libcurl's 100-continue wait on request bodies.
        for (name, value) in headers + [("Expect", "")] { list = curl_slist_append(list, "\(name): \(value)") }
        let answer = Answer()
        let context = Unmanaged.passUnretained(answer).toOpaque()
        var code = [
            intermesh_curl_set_string(handle, CURLOPT_URL, url),
            intermesh_curl_set_long(handle, CURLOPT_NOSIGNAL, 1),
            intermesh_curl_set_long(handle, CURLOPT_TIMEOUT_MS, max(1, Int(timeout * 1000))),
            intermesh_curl_set_long(handle, CURLOPT_CONNECTTIMEOUT_MS, min(5000, max(1, Int(timeout * 1000)))),
            intermesh_curl_set_string(handle, CURLOPT_PROTOCOLS_STR, "http,https"),
            intermesh_curl_set_headers(handle, list),
            intermesh_curl_set_writer(handle, { data, size, count, context in
                let answer = Unmanaged<Answer>.fromOpaque(context!).takeUnretainedValue()
                let bytes = size * count
                // Returning less than was given makes libcurl fail the transfer.
                guard answer.body.count + bytes <= CurlTransport.maximumAnswer, let data else { return 0 }
                answer.body.append(UnsafeRawPointer(data).assumingMemoryBound(to: UInt8.self), count: bytes)
                return bytes
            }, context),
        ].first { $0 != CURLE_OK } ?? CURLE_OK
        if code == CURLE_OK { code = configureMethod(handle, method: method, body: body) }
        if code == CURLE_OK { code = configureTLS(handle) }
        if code == CURLE_OK { code = curl_easy_perform(handle) }
        guard code == CURLE_OK else {
            if code == CURLE_WRITE_ERROR { throw Failure(description: "the answer is larger than \(Self.maximumAnswer >> 20) MiB") }
            throw Failure(description: String(cString: curl_easy_strerror(code)))
        }
        return (Int(intermesh_curl_status(handle)), answer.body)
    }

    func configureMethod(_ handle: UnsafeMutableRawPointer, method: String, body: Data?) -> CURLcode {
        switch (method, body) {
        case ("GET", nil):
            return intermesh_curl_set_long(handle, CURLOPT_HTTPGET, 1)
        case (_, let body?):
            // COPYPOSTFIELDS copies the bytes, so they need not outlive this call; the size goes first (bodies may hold NULs).
            let sized = intermesh_curl_set_long(handle, CURLOPT_POSTFIELDSIZE, body.count)
            guard sized == CURLE_OK else { return sized }
            let copied = body.isEmpty ? intermesh_curl_set_string(handle, CURLOPT_COPYPOSTFIELDS, "") : body.withUnsafeBytes { bytes in
                intermesh_curl_set_string(handle, CURLOPT_COPYPOSTFIELDS, bytes.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            return copied != CURLE_OK || method == "POST" ? copied : intermesh_curl_set_string(handle, CURLOPT_CUSTOMREQUEST, method)
        case (_, nil):
            return intermesh_curl_set_string(handle, CURLOPT_CUSTOMREQUEST, method)
        }
    }

    /// With an authority given, only it is trusted (not the system's too), as async-http-client does for the CLI.
    func configureTLS(_ handle: UnsafeMutableRawPointer) -> CURLcode {
        var settings: [(CURLoption, String?)] = []
        if let caFile = tls.caFile { settings += [(CURLOPT_CAINFO, caFile), (CURLOPT_CAPATH, nil)] }
        if let certificate = tls.certificate {
            settings += [(CURLOPT_SSLCERT, certificate), (CURLOPT_SSLCERTTYPE, "PEM"), (CURLOPT_SSLKEY, tls.key ?? certificate), (CURLOPT_SSLKEYTYPE, "PEM")]
        }
        for (option, value) in settings {
            let code = intermesh_curl_set_string(handle, option, value)
            if code != CURLE_OK { return code }
        }
        return intermesh_curl_set_long(handle, CURLOPT_SSLVERSION, Int(CURL_SSLVERSION_TLSv1_2))
    }

    /// An easy handle, used by one call at a time.
    struct Handle: @unchecked Sendable {
        let pointer: UnsafeMutableRawPointer
    }

    final class Answer {
        var body = Data()
    }
}
