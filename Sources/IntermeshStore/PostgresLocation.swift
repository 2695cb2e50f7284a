import Foundation
import Logging
import NIOSSL
import PostgresNIO

/// Where a PostgreSQL store is: `postgres://USER@HOST:PORT/DATABASE?sslmode=...&sslrootcert=FILE`. The password is
/// never part of it (a URL is a command-line argument, visible to other users): it comes from a file or
/// `$PGPASSWORD`. `sslmode` is `disable`, `prefer` (the default), `require` or `verify-full`; `sslrootcert` names the
/// authority the server's certificate must chain to (else the system's).
public struct PostgresLocation: Sendable {
    public var host: String
    public var port: Int
    public var user: String
    public var database: String
    public var password: String?
    public var sslMode: String
    public var rootCertificate: String?

    public struct Invalid: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public static let sslModes = ["disable", "prefer", "require", "verify-full"]

    /// Parses `url`; the password from `passwordFile`, else `environment["PGPASSWORD"]`.
    public init(url: String, passwordFile: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme ?? ""),
              let host = components.host, !host.isEmpty else {
            throw Invalid(description: "--store must be postgres://USER@HOST[:PORT]/DATABASE, got '\(url)'")
        }
        guard components.password == nil else {
            throw Invalid(description: "--store: put no password in the URL (it is visible to other users); use --store-password-file or $PGPASSWORD")
        }
        guard let user = components.user, !user.isEmpty else { throw Invalid(description: "--store: the URL names no user (postgres://USER@HOST/DATABASE)") }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else { throw Invalid(description: "--store: the URL names no database (postgres://USER@HOST/DATABASE)") }
        var sslMode = "prefer", rootCertificate: String?
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let value = item.value, Self.sslModes.contains(value) else {
                    throw Invalid(description: "--store: sslmode must be one of \(Self.sslModes.joined(separator: ", ")), got '\(item.value ?? "")'")
                }
                sslMode = value
            case "sslrootcert":
                rootCertificate = item.value
            default:
                throw Invalid(description: "--store: unknown parameter '\(item.name)' (sslmode and sslrootcert are understood)")
            }
        }
        if let passwordFile {
            guard let text = try? String(contentsOfFile: passwordFile, encoding: .utf8) else {
                throw Invalid(description: "\(passwordFile): cannot read the store's password file")
            }
            password = text.trimmingCharacters(in: .newlines)
        } else {
            password = environment["PGPASSWORD"]
        }
        self.host = host
        port = components.port ?? 5432
        self.user = user
        self.database = database
        self.sslMode = sslMode
        self.rootCertificate = rootCertificate
    }

    /// The URL without secrets, for messages.
    public var display: String { "postgres://\(user)@\(host):\(port)/\(database)" }

    /// One connection made and closed: a wrong password, host or certificate fails here at once with the server's
    /// reason (the pool would retry it with backoff).
    func check(logger: Logger) async throws {
        let tls = try tlsConfiguration()
        let mode: PostgresConnection.Configuration.TLS = switch sslMode {
        case "disable": .disable
        case "prefer": .prefer(try NIOSSLContext(configuration: tls))
        default: .require(try NIOSSLContext(configuration: tls))
        }
        var configuration = PostgresConnection.Configuration(host: host, port: port, username: user, password: password, database: database, tls: mode)
        configuration.options.connectTimeout = .seconds(5)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
        try await connection.close()
    }

    func tlsConfiguration() throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let rootCertificate {
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(rootCertificate))
            } catch {
                throw Invalid(description: "\(rootCertificate): not a PEM certificate: \(error)")
            }
        }
        // `prefer` and `require` encrypt without checking who answers (as libpq does); `verify-full` checks the chain and the name.
        if sslMode == "require" || sslMode == "prefer" { tls.certificateVerification = .none }
        return tls
    }

    func configuration() throws -> PostgresClient.Configuration {
        let tls = try tlsConfiguration()
        let mode: PostgresClient.Configuration.TLS = switch sslMode {
        case "disable": .disable
        case "prefer": .prefer(tls)
        default: .require(tls)
        }
        var configuration = PostgresClient.Configuration(host: host, port: port, username: user, password: password, database: database, tls: mode)
        configuration.options.connectTimeout = .seconds(5)
        configuration.options.maximumConnections = 8
        return configuration
    }
}
