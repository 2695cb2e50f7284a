import IntermeshAgent
import IntermeshSpec
import NIOCore
import NIOPosix
import Testing

/// The agent's relay between torchft replicas and the active server's Lighthouse, against plain TCP servers that
/// answer each line with their name.
@Suite struct LighthouseRelayTests {
    typealias Connection = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    /// A server on 127.0.0.1 that answers every chunk it reads with `NAME:` and the chunk.
    final class NamedServer: Sendable {
        let listener: NIOAsyncChannel<Connection, Never>
        let port: Int
        let task: Task<Void, Never>

        init(name: String) async throws {
            listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: "127.0.0.1", port: 0) { channel in
                    channel.eventLoop.makeCompletedFuture { try Connection(wrappingChannelSynchronously: channel) }
                }
            port = listener.channel.localAddress?.port ?? 0
            let listener = self.listener
            task = Task {
                try? await listener.executeThenClose { inbound in
                    try await withThrowingDiscardingTaskGroup { group in
                        for try await connection in inbound {
                            group.addTask {
                                try? await connection.executeThenClose { input, output in
                                    for try await chunk in input {
                                        try await output.write(ByteBuffer(string: "\(name):" + String(buffer: chunk)))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }

        func stop() { listener.channel.close(promise: nil) }
    }

    /// A client connection: one iterator over what it reads, for its whole life.
    struct Peer {
        let connection: Connection
        var answers: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator

        init(port: Int) async throws {
            connection = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port) { channel in
                    channel.eventLoop.makeCompletedFuture { try Connection(wrappingChannelSynchronously: channel) }
                }
            answers = connection.inbound.makeAsyncIterator()
        }

        /// Closes the connection (NIO requires a channel's writer finished before it goes).
        func close() async {
            connection.outbound.finish()
            try? await connection.channel.close()
        }

        /// Sends `text` and reads one answer; nil when the relay closed (or reset) the connection instead.
        mutating func ask(_ text: String) async -> String? {
            do {
                try await connection.outbound.write(ByteBuffer(string: text))
                return try await answers.next().map { String(buffer: $0) }
            } catch {
                return nil
            }
        }
    }

    @Test func relaysToTheTargetAndMovesWithIt() async throws {
        let a = try await NamedServer(name: "a"), b = try await NamedServer(name: "b")
        defer { a.stop(); b.stop() }
        let relay = try await LighthouseRelay()
        let running = Task { await relay.run() }
        defer { relay.close(); running.cancel() }
        #expect(relay.url == "http://127.0.0.1:\(relay.port)")

        // No target yet: a connection is closed at once.
        var early = try await Peer(port: relay.port)
        #expect(await early.ask("x") == nil)

        #expect(relay.retarget(LighthouseRelay.Target(server: "http://127.0.0.1:7700", port: a.port)))
        #expect(!relay.retarget(LighthouseRelay.Target(host: "127.0.0.1", port: a.port)), "the same target is no change")
        var first = try await Peer(port: relay.port)
        #expect(await first.ask("one") == "a:one")
        #expect(await first.ask("two") == "a:two")

        // The active server moves: the open connection is cut, so its client reconnects; new ones reach b.
        #expect(relay.retarget(LighthouseRelay.Target(host: "127.0.0.1", port: b.port)))
        #expect(await first.ask("three") == nil)
        var second = try await Peer(port: relay.port)
        #expect(await second.ask("four") == "b:four")

        // A dead target: the connection is closed, not held.
        relay.retarget(LighthouseRelay.Target(host: "127.0.0.1", port: 1))
        var third = try await Peer(port: relay.port)
        #expect(await third.ask("five") == nil)
        for peer in [early, first, second, third] { await peer.close() }
    }

    @Test func aRestartedAgentsRelayTakesItsPortAgainWhenFree() async throws {
        // A port below the ephemeral range, so that no other process's outgoing connection takes it in between.
        let port = 7793
        let first = try await LighthouseRelay(preferredPort: port)
        try #require(first.port == port, "port \(port) is in use")
        let running = Task { await first.run() }
        // Taken: the next relay listens elsewhere.
        let other = try await LighthouseRelay(preferredPort: port)
        #expect(other.port != port)
        other.close()
        first.close()
        await running.value
        let again = try await LighthouseRelay(preferredPort: port)
        #expect(again.port == port)
        again.close()
    }

    @Test(arguments: [
        ("http://10.0.0.5:7700", 7710, "10.0.0.5:7710"),
        ("https://cp.example.org:443/v1", 7710, "cp.example.org:7710"),
        ("http://[::1]:7700", 7710, "[::1]:7710"),
    ])
    func targetsAreTheServersHostAtTheAnnouncedPort(server: String, port: Int, expected: String) {
        #expect(LighthouseRelay.Target(server: server, port: port)?.description == expected)
    }

    @Test(arguments: [
        ("localhost", LauncherSpec.Kind.local, true, true),
        ("127.0.0.1", .ssh, true, true),
        ("localhost", .mpirun, true, true),
        ("gpu-box-1.example.org", .ssh, false, true),
        ("node-3", .mpirun, false, true),
        ("slurm-node-0", .slurm, false, true),
        ("localhost", .slurm, false, true),
    ])
    func whoIsHandedTheRelay(host: String, launcher: LauncherSpec.Kind, onLoopback: Bool, onTheNetwork: Bool) async throws {
        // On loopback: replicas on the agent's machine only. On an address of the network (this machine's, here
        // 127.0.0.2 of the loopback network, which counts as one): every replica.
        let loopback = try await LighthouseRelay()
        let network = try await LighthouseRelay(host: "127.0.0.2")
        defer { loopback.close(); network.close() }
        #expect(loopback.reaches(host: host, launcher: launcher) == onLoopback)
        #expect(network.reaches(host: host, launcher: launcher) == onTheNetwork)
        #expect(network.url == "http://127.0.0.2:\(network.port)")
    }

    @Test func aRelayThatCannotListenSaysWhere() async {
        await #expect(throws: (any Error).self) { _ = try await LighthouseRelay(host: "192.0.2.1") }
    }

    @Test func noTargetWithoutAHostOrAPort() {
        #expect(LighthouseRelay.Target(server: "not a url", port: 7710) == nil)
        #expect(LighthouseRelay.Target(server: "http://10.0.0.5:7700", port: 0) == nil)
        #expect(LighthouseRelay.Target(server: "http://10.0.0.5:7700", port: 70000) == nil)
    }
}
