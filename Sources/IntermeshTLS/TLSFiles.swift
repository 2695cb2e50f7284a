import Foundation
import NIOSSL

/// A server's certificate and key, and the authority whose clients it requires (mutual TLS) when set.
public struct ServerTLS: Sendable, Equatable {
    public var certificate: String
    public var key: String
    public var clientCA: String?

    public init(certificate: String, key: String, clientCA: String? = nil) {
        self.certificate = certificate
        self.key = key
        self.clientCA = clientCA
    }

    /// NIOSSL's server configuration; the files are read now, so a bad one fails at start with its path.
    public func configuration() throws -> TLSConfiguration {
        let chain = try TLSFiles.certificates(certificate)
        let privateKey = try TLSFiles.privateKey(key)
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        configuration.minimumTLSVersion = .tlsv12
        if let clientCA {
            configuration.trustRoots = .certificates(try TLSFiles.certificates(clientCA))
            configuration.certificateVerification = .noHostnameVerification
        }
        return configuration
    }
}

/// What a client trusts (the authority's certificate, `--ca-file` or `$INTERMESH_CA`) and, for mutual TLS, the
/// certificate it presents (`$INTERMESH_CLIENT_CERT`, `$INTERMESH_CLIENT_KEY`).
public struct ClientTLS: Sendable, Hashable {
    public var caFile: String?
    public var certificate: String?
    public var key: String?

    public init(caFile: String? = nil, certificate: String? = nil, key: String? = nil) {
        self.caFile = caFile
        self.certificate = certificate
        self.key = key
    }

    /// From `$INTERMESH_CA`, `$INTERMESH_CLIENT_CERT` and `$INTERMESH_CLIENT_KEY`; an empty one is unset (a launcher
    /// forwards the names whether the agent has them or not).
    public init(environment: [String: String]) {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        self.init(caFile: value("INTERMESH_CA"), certificate: value("INTERMESH_CLIENT_CERT"), key: value("INTERMESH_CLIENT_KEY"))
    }

    public var isEmpty: Bool { caFile == nil && certificate == nil }

    public func configuration() throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let caFile { configuration.trustRoots = .certificates(try TLSFiles.certificates(caFile)) }
        if let certificate {
            guard let key else { throw TLSFileError("a client certificate needs its key ($INTERMESH_CLIENT_KEY)") }
            configuration.certificateChain = try TLSFiles.certificates(certificate).map { .certificate($0) }
            configuration.privateKey = .privateKey(try TLSFiles.privateKey(key))
        }
        return configuration
    }
}

enum TLSFiles {
    static func certificates(_ path: String) throws -> [NIOSSLCertificate] {
        do {
            let list = try NIOSSLCertificate.fromPEMFile(path)
            guard !list.isEmpty else { throw TLSFileError("\(path): no certificate in it") }
            return list
        } catch let error as TLSFileError {
            throw error
        } catch {
            throw TLSFileError("\(path): not a PEM certificate file (\(error))")
        }
    }

    static func privateKey(_ path: String) throws -> NIOSSLPrivateKey {
        do {
            return try NIOSSLPrivateKey(file: path, format: .pem)
        } catch {
            throw TLSFileError("\(path): not a PEM private key (\(error))")
        }
    }
}
