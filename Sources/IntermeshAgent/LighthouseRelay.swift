import Foundation
import IntermeshAPI
import IntermeshSpec
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A TCP relay on the agent's machine between torchft replicas and the active server's Lighthouse endpoint.
///
/// torchft's Manager takes one Lighthouse address for its whole life. With several servers on one store, the agent
/// hands its replicas the relay's address instead of a server's. Each connection is relayed to the Lighthouse of
/// the server the agent last reached. When the agent moves to another server, the relay closes the connections it
/// holds to the old one. torchft's client then reconnects, through the relay, to the new active server, and a
/// quorum call that failed is retried there (`TORCHFT_QUORUM_RETRIES`).
///
/// The relay listens on loopback, for replicas on the agent's machine, or on an address the site's hosts reach
/// (`intermesh agent --lighthouse-relay`); on the port the agent used before a restart when that port is free, so
/// replicas that outlive their agent keep their address. Like the Lighthouse protocol, it carries no credential.
public final class LighthouseRelay: Sendable {
    /// Where the relay sends connections: a server's Lighthouse.
    public typealias Target = LighthouseAddress

    struct State {
        var target: Target?
        var open: [ObjectIdentifier: Channel] = [:]
    }

    private let listener: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
    private let state = NIOLockedValueBox(State())
    /// The address it listens on: loopback by default, or one the site's other hosts reach.
    public let host: String
    /// The port replicas connect to.
    public let port: Int
    /// `http://HOST:PORT`, what the replicas get as their Lighthouse.
    public var url: String { Target(host: host, port: port).url }

    /// Listens on `host`, on `preferredPort` when it is free, else on any free port.
    public init(host: String = "127.0.0.1", preferredPort: Int? = nil) async throws {
        var listener: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>?
        var failure: Error?
        for port in [preferredPort, 0].compactMap({ $0 }) where listener == nil {
            do {
                listener = try await Self.bind(host: host, port: port)
            } catch {
                failure = error
            }
        }
        guard let listener, let port = listener.channel.localAddress?.port else {
            throw RelayError(description: "the Lighthouse relay cannot listen on \(host): \(failure.map { "\($0)" } ?? "no port")")
        }
        self.listener = listener
        self.host = host
        self.port = port
    }

    /// Whether the relay is only on this machine's loopback.
    public var isLoopback: Bool { Self.loopback.contains(host) }
    static let loopback: Set<String> = ["localhost", "127.0.0.1", "::1"]

    private static func bind(host: String, port: Int) async throws -> NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never> {
        try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
    }

    /// Whether a replica planned on `host` reaches the relay: any does when the relay listens on an address of the
    /// network; on loopback, only one on the agent's machine (a Slurm job's node is not known). The others keep the
    /// active server's own address.
    public func reaches(host: String, launcher: LauncherSpec.Kind) -> Bool {
        !isLoopback || ReplicaProcess.runsOnThisMachine(host: host, launcher: launcher)
    }

    /// Where new connections go; a change closes every connection relayed to the old target. Returns whether it
    /// changed.
    @discardableResult
    public func retarget(_ target: Target?) -> Bool {
        let dropped: [Channel]? = state.withLockedValue { state in
            guard state.target != target else { return nil }
            state.target = target
            defer { state.open = [:] }
            return Array(state.open.values)
        }
        guard let dropped else { return false }
        for channel in dropped { channel.close(promise: nil) }
        return true
    }

    public var target: Target? { state.withLockedValue { $0.target } }

    /// Accepts and relays connections until cancelled; then closes the listener and every relayed connection.
    public func run() async {
        do {
            try await listener.executeThenClose { inbound in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in inbound {
                        group.addTask { await self.relay(connection) }
                    }
                }
            }
        } catch {}
        retarget(nil)
    }

    /// Stops accepting; `run` returns.
    public func close() {
        listener.channel.close(promise: nil)
        retarget(nil)
    }

    /// One replica's connection: copied both ways to the target until either side ends or the target changes.
    private func relay(_ downstream: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        guard let target = self.target,
              let upstream = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(3))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: target.host, port: target.port, channelInitializer: { channel in
                    channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
                })
        else {
            // executeThenClose finishes the channel's writer too (NIO requires it of every NIOAsyncChannel).
            try? await downstream.executeThenClose { _, _ in }
            return
        }
        // Registered only while the target is still the one dialled; otherwise the connection is already stale.
        let current = state.withLockedValue { state in
            guard state.target == target else { return false }
            state.open[ObjectIdentifier(downstream.channel)] = downstream.channel
            state.open[ObjectIdentifier(upstream.channel)] = upstream.channel
            return true
        }
        defer {
            state.withLockedValue { state in
                state.open[ObjectIdentifier(downstream.channel)] = nil
                state.open[ObjectIdentifier(upstream.channel)] = nil
            }
        }
        guard current else {
            try? await upstream.executeThenClose { _, _ in }
            try? await downstream.executeThenClose { _, _ in }
            return
        }
        try? await downstream.executeThenClose { fromReplica, toReplica in
            try await upstream.executeThenClose { fromServer, toServer in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { for try await bytes in fromReplica { try await toServer.write(bytes) } }
                    group.addTask { for try await bytes in fromServer { try await toReplica.write(bytes) } }
                    // Either side ending ends both: gRPC over HTTP/2 never half-closes a healthy connection.
                    _ = try await group.next()
                    group.cancelAll()
                }
            }
        }
    }

    struct RelayError: Error, CustomStringConvertible {
        var description: String
    }
}
