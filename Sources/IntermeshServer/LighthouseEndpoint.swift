import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import IntermeshTLS
import Logging
import ServiceLifecycle

/// The gRPC server of the Lighthouse endpoint, a service beside the HTTP API: it stops with it, and records the port it
/// listens on in the control plane (agents hand it to torchft engines).
struct LighthouseEndpoint: Service {
    let host: String
    let port: Int
    let tls: ServerTLS?
    let logger: Logger
    let service: LighthouseService

    func run() async throws {
        let server = GRPCServer(
            transport: .http2NIOPosix(address: .ipv4(host: host == "localhost" ? "127.0.0.1" : host, port: port),
                                      transportSecurity: security),
            services: [service])
        let serving = Task { try await server.serve() }
        let bound = try await server.listeningAddress?.ipv4?.port ?? port
        await service.plane.lighthousePort.set(bound)
        logger.info("Lighthouse endpoint (torchft's protocol) listening on \(host):\(bound)")
        // Quorum calls wait as long as their caller lets them: a graceful shutdown that waited for them could wait for
        // ever (new calls are refused, so no quorum forms). They get `graceCancel` to finish, then are cancelled;
        // torchft's Manager asks again, of the next control plane.
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await serving.value
            } onGracefulShutdown: {
                server.beginGracefulShutdown()
                Task {
                    try? await Task.sleep(for: graceCancel)
                    serving.cancel()
                }
            }
        } onCancel: {
            serving.cancel()
        }
    }

    var graceCancel: Duration { .seconds(2) }

    /// The API's certificate and key, and its client authority for mutual TLS, when it serves TLS.
    var security: HTTP2ServerTransport.Posix.TransportSecurity {
        guard let tls else { return .plaintext }
        return .tls(certificateChain: [.file(path: tls.certificate, format: .pem)], privateKey: .file(path: tls.key, format: .pem)) { config in
            if let clientCA = tls.clientCA {
                config.clientCertificateVerification = .noHostnameVerification
                config.trustRoots = .certificates([.file(path: clientCA, format: .pem)])
            }
        }
    }
}

/// A port learned once a listener is bound.
public actor ListeningPort {
    public private(set) var port: Int?

    public init() {}

    func set(_ port: Int) {
        self.port = port
    }

    /// The port once bound, waiting up to `timeout` for the listener.
    public func wait(timeout: Duration = .seconds(5)) async -> Int? {
        let clock = ContinuousClock(), deadline = clock.now + timeout
        while port == nil, clock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        return port
    }
}
