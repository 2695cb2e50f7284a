import ArgumentParser
import Foundation
import Hummingbird
import IntermeshServer
import IntermeshStore
import IntermeshTLS
import IntermeshSpec
import Logging

/// `intermesh serve`: the control plane.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the control plane: store, HTTP API (/v1) and reconciler.")

    @Option(help: "Data directory of the embedded SQLite store.")
    var data: String = "intermesh-data"

    @Option(help: "Address to listen on, HOST:PORT.")
    var listen: String = "127.0.0.1:7700"

    @Option(help: ArgumentHelp("Store URL: sqlite:DIR (default: sqlite:<--data>) or postgres://USER@HOST[:PORT]/DATABASE[?sslmode=...].",
                               discussion: "PostgreSQL: sslmode disable, prefer (default), require or verify-full; sslrootcert=FILE is the authority for verify-full. No password in the URL: --store-password-file, else $PGPASSWORD."))
    var store: String?

    @Option(help: "File holding the PostgreSQL store's password (default: $INTERMESH_STORE_PASSWORD_FILE; else $PGPASSWORD).")
    var storePasswordFile: String?

    @Option(help: ArgumentHelp("With a postgres:// --store: how long the active server's lease lasts unrenewed (2s to 5m).",
                               discussion: "Servers sharing a store elect one active server with a lease in the store; the others are standbys that answer 503 naming it, and the first to see the lease end takes over."))
    var leaseTime: String = "10s"

    @Option(help: "With a postgres:// --store: the URL clients reach this server at (default: the scheme, --listen host and port).")
    var advertise: String?

    @Option(help: "Also write the first admin token to this file (mode 0600).")
    var adminTokenFile: String?

    @Option(help: ArgumentHelp("Port of the Lighthouse endpoint (torchft's gRPC protocol) on the --listen host: a number, 0 for any free port, or 'off'.",
                               discussion: "Default: the API's port + 10 (7710), or any free port when the API's is 0."))
    var lighthousePort: String?

    @Option(help: "Requests a second each token may make, in bursts of up to twice that; past it the answer is 429. 0: no budget.")
    var tokenRate: Int = 1000

    @Option(help: "Close a connection that sends no complete request head this long after it opened or after its last answer (5s, 1m).")
    var idleTimeout: String = "75s"

    @Option(help: "Serve the API and the Lighthouse endpoint over TLS with this certificate (PEM; `intermesh ca issue` makes one).")
    var tlsCert: String?

    @Option(help: "The private key of --tls-cert (PEM).")
    var tlsKey: String?

    @Option(help: "Require client certificates signed by this authority (mutual TLS; PEM).")
    var tlsClientCa: String?

    @Flag(help: "Serve plain HTTP on an address beyond loopback: bearer tokens then cross the network in clear text.")
    var insecurePlainHttp = false

    @Flag(help: "Serve the Lighthouse endpoint in plain gRPC even with --tls-cert: torchft's own client (0.2) speaks no TLS.")
    var lighthousePlaintext = false

    func validate() throws {
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
        guard tlsClientCa == nil || tlsCert != nil else { throw ValidationError("--tls-client-ca needs --tls-cert and --tls-key") }
        guard !lighthousePlaintext || tlsCert != nil else { throw ValidationError("--lighthouse-plaintext needs --tls-cert (without TLS it is plain already)") }
        guard (0...1_000_000).contains(tokenRate) else { throw ValidationError("--token-rate must be 0 to 1000000, got \(tokenRate)") }
        guard let idle = DurationValue(parsing: idleTimeout), idle.milliseconds >= 1000, idle.seconds <= 86400 else {
            throw ValidationError("--idle-timeout must be a duration from 1s to 24h, got '\(idleTimeout)'")
        }
        guard let lease = DurationValue(parsing: leaseTime), lease.milliseconds >= 2000, lease.seconds <= 300 else {
            throw ValidationError("--lease-time must be a duration from 2s to 5m, got '\(leaseTime)'")
        }
        if let advertise {
            guard let url = URL(string: advertise), ["http", "https"].contains(url.scheme ?? ""), url.host != nil, url.path.isEmpty || url.path == "/",
                  !advertise.contains(",") else {
                throw ValidationError("--advertise must be an http:// or https:// URL of this server (scheme, host, port), got '\(advertise)'")
            }
        }
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    func run() async throws {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else {
            throw CLIError("--listen must be HOST:PORT, got '\(listen)'")
        }
        let host = String(listen[..<colon])
        var directory = data
        var postgres: PostgresLocation?
        if let store {
            if store.hasPrefix("postgres://") || store.hasPrefix("postgresql://") {
                let environment = ProcessInfo.processInfo.environment
                do {
                    postgres = try PostgresLocation(url: store, passwordFile: storePasswordFile ?? environment["INTERMESH_STORE_PASSWORD_FILE"])
                } catch {
                    throw CLIError("\(error)")
                }
            } else {
                guard store.hasPrefix("sqlite:") else {
                    throw CLIError("--store \(store): must be sqlite:DIR or postgres://USER@HOST[:PORT]/DATABASE")
                }
                directory = String(store.dropFirst("sqlite:".count))
            }
        }
        guard postgres != nil || storePasswordFile == nil else { throw CLIError("--store-password-file goes with a postgres:// --store") }
        guard postgres != nil || advertise == nil else { throw CLIError("--advertise goes with a postgres:// --store (servers sharing it name themselves)") }
        var lighthouse: Int? = port == 0 ? 0 : port + 10
        if let lighthousePort {
            if lighthousePort == "off" {
                lighthouse = nil
            } else {
                guard let number = Int(lighthousePort), (0...65535).contains(number) else {
                    throw CLIError("--lighthouse-port must be a port (0 to 65535) or 'off', got '\(lighthousePort)'")
                }
                lighthouse = number
            }
        }
        guard lighthouse.map({ $0 <= 65535 }) ?? true else { throw CLIError("--listen port \(port) leaves no default Lighthouse port: pass --lighthouse-port") }
        if tlsCert == nil, !Self.isLoopback(host) {
            guard insecurePlainHttp else {
                throw CLIError("--listen \(listen) is beyond loopback: serve TLS (--tls-cert, --tls-key) or pass --insecure-plain-http")
            }
            Terminal.stderr.write("warning: serving plain HTTP on \(host): bearer tokens cross the network in clear text; use --tls-cert and --tls-key\n")
        }
        var configuration = ServerConfiguration(dataDirectory: URL(fileURLWithPath: directory), host: host, port: port,
                                                adminTokenFile: adminTokenFile, lighthousePort: lighthouse,
                                                tokenRate: tokenRate == 0 ? nil : Double(tokenRate),
                                                requestHeadTimeout: (DurationValue(parsing: idleTimeout) ?? .seconds(75)).swiftDuration)
        if let tlsCert, let tlsKey { configuration.tls = ServerTLS(certificate: tlsCert, key: tlsKey, clientCA: tlsClientCa) }
        configuration.postgres = postgres
        configuration.advertise = advertise
        configuration.leaseTime = (DurationValue(parsing: leaseTime) ?? .seconds(10)).swiftDuration
        configuration.lighthousePlaintext = lighthousePlaintext
        if lighthousePlaintext, lighthouse != nil, !Self.isLoopback(host) {
            Terminal.stderr.write("warning: the Lighthouse endpoint on \(host) is plain gRPC: anyone who reaches it can heartbeat as a replica of a torchft run\n")
        }
        // Read the certificate and key now: a bad file fails here with its path, before the store is opened.
        do { _ = try configuration.tls?.configuration() } catch { throw CLIError("\(error)") }
        var logger = Logger(label: "intermesh")
        logger.logLevel = .notice
        let shownDirectory = postgres?.display ?? directory
        let scheme = configuration.tls == nil ? "http" : "https"
        let opened: (plane: ControlPlane, adminToken: String?)
        do {
            let store = try await Server.openStore(configuration: configuration)
            var lease: ServerLease?
            if let shared = store as? PostgresStore {
                // Several servers may share this store: serve as a standby until this one holds its lease.
                let taken = try await Server.takeLease(configuration: configuration, store: shared, logger: logger) { port, active in
                    Terminal.stdout.write("intermesh serve: standby on \(scheme)://\(host):\(port), the active server is \(active)\n")
                }
                lease = taken.lease
                configuration.port = taken.port
                Terminal.stdout.write("intermesh serve: active (lease epoch \(taken.lease.epoch)) as \(taken.lease.address)\n")
            }
            opened = try await Server.open(configuration: configuration, store: store, lease: lease)
        } catch is CancellationError {
            return
        } catch {
            throw CLIError("\(shownDirectory): cannot open the store: \(error)")
        }
        if let token = opened.adminToken {
            // Shown once: only its salted hash is stored.
            Terminal.stdout.write("admin token (shown once, store it safely): \(token)\n")
        }
        let plane = opened.plane
        let app = try Server.application(configuration: configuration, plane: plane, logger: logger) { [lighthouse] port in
            let shown = lighthouse == nil ? nil : await plane.lighthousePort.wait()
            let lighthouse = shown.map { ", Lighthouse (torchft) on \(host):\($0)" } ?? ""
            Terminal.stdout.write("intermesh serve: listening on \(scheme)://\(host):\(port)\(lighthouse), data in \(shownDirectory)\n")
            Terminal.stdout.write("intermesh serve: console at \(scheme)://\(host):\(port)/ (sign in with a token)\n")
        }
        try await app.runService()
    }
}
