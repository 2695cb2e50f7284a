import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import IntermeshLighthouse

/// `intermesh-bench lighthouse-floor --port N`: torchft's Lighthouse service with handlers that do nothing, on the same
/// gRPC server and transport as `intermesh serve` (grpc-swift 2 over NIO HTTP/2, plaintext). The
/// Lighthouse benchmark runs it beside both servers: what a heartbeat costs before any Lighthouse work is done.
enum LighthouseFloor {
    struct Service: Torchft_LighthouseService.SimpleServiceProtocol {
        func heartbeat(request: Torchft_LighthouseHeartbeatRequest, context: ServerContext) async throws -> Torchft_LighthouseHeartbeatResponse {
            Torchft_LighthouseHeartbeatResponse()
        }

        func quorum(request: Torchft_LighthouseQuorumRequest, context: ServerContext) async throws -> Torchft_LighthouseQuorumResponse {
            throw RPCError(code: .unimplemented, message: "the floor server forms no quorum")
        }
    }

    static func serve(port: Int) async throws {
        let server = GRPCServer(transport: .http2NIOPosix(address: .ipv4(host: "127.0.0.1", port: port), transportSecurity: .plaintext),
                                services: [Service()])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            if let bound = try await server.listeningAddress?.ipv4?.port { FileHandle.standardOutput.write(Data("listening on 127.0.0.1:\(bound)\n".utf8)) }
            try await group.waitForAll()
        }
    }
}
