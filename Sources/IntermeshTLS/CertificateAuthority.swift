import Crypto
import Foundation
import SwiftASN1
import X509

/// A private certificate authority for a run's control plane and sites: `intermesh ca init` makes one (`ca.pem`, and
/// `ca.key` with mode 0600), `intermesh ca issue` signs a server or client certificate with it. Keys are ECDSA P-256;
/// certificates are X.509 v3 with the names a peer verifies (DNS names and IP addresses).
public struct CertificateAuthority {
    public let certificate: Certificate
    let key: P256.Signing.PrivateKey

    public static let certificateFile = "ca.pem"
    public static let keyFile = "ca.key"

    /// Creates a new authority in `directory` (refusing to replace one there).
    @discardableResult
    public static func create(in directory: URL, name: String = "Intermesh CA", now: Date = Date(), years: Int = 10) throws -> CertificateAuthority {
        let manager = FileManager.default
        let certificatePath = directory.appendingPathComponent(certificateFile).path
        guard !manager.fileExists(atPath: certificatePath) else { throw TLSFileError("\(certificatePath) exists; an authority is not replaced") }
        try manager.createDirectory(at: directory, withIntermediateDirectories: true)
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName { CommonName(name) }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(Double(years) * 365 * 86400),
            issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(key))
        try write(key.pemRepresentation, to: directory.appendingPathComponent(keyFile), mode: 0o600)
        try write(try certificate.serializeAsPEM().pemString, to: URL(fileURLWithPath: certificatePath), mode: 0o644)
        return CertificateAuthority(certificate: certificate, key: key)
    }

    /// The authority in `directory`.
    public static func load(from directory: URL) throws -> CertificateAuthority {
        let certificatePath = directory.appendingPathComponent(certificateFile).path, keyPath = directory.appendingPathComponent(keyFile).path
        guard let certificateText = try? String(contentsOfFile: certificatePath, encoding: .utf8),
              let keyText = try? String(contentsOfFile: keyPath, encoding: .utf8) else {
            throw TLSFileError("\(directory.path): no authority here (ca.pem and ca.key); run `intermesh ca init --dir \(directory.path)` first")
        }
        do {
            return CertificateAuthority(certificate: try Certificate(pemEncoded: certificateText),
                                        key: try P256.Signing.PrivateKey(pemRepresentation: keyText))
        } catch {
            throw TLSFileError("\(directory.path): ca.pem or ca.key is not a P-256 authority this tool made: \(error)")
        }
    }

    /// Signs a certificate for `name` valid for `hosts` (DNS names or IP addresses), for servers and clients alike,
    /// and writes `NAME.pem` and `NAME.key` (0600) into `directory`.
    @discardableResult
    public func issue(name: String, hosts: [String], in directory: URL, now: Date = Date(), days: Int = 397) throws -> (certificate: URL, key: URL) {
        guard !name.isEmpty, name.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
                                                    || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
            throw TLSFileError("a certificate name must be lower-case letters, digits, '.', '-' or '_', got '\(name)'")
        }
        var names: [GeneralName] = []
        for host in hosts {
            if let address = IPAddressBytes(host) {
                names.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(address))))
            } else if HostName.isValid(host) {
                names.append(.dnsName(host))
            } else {
                throw TLSFileError("--host must be a DNS name or an IP address, got '\(host)'")
            }
        }
        let key = P256.Signing.PrivateKey()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(Double(days) * 86400),
            issuer: self.certificate.subject, subject: try DistinguishedName { CommonName(name) }, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                if !names.isEmpty { SubjectAlternativeNames(names) }
            },
            issuerPrivateKey: .init(self.key))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let certificateURL = directory.appendingPathComponent("\(name).pem"), keyURL = directory.appendingPathComponent("\(name).key")
        try Self.write(key.pemRepresentation, to: keyURL, mode: 0o600)
        try Self.write(try certificate.serializeAsPEM().pemString + "\n", to: certificateURL, mode: 0o644)
        return (certificateURL, keyURL)
    }

    static func write(_ text: String, to url: URL, mode: Int) throws {
        let manager = FileManager.default
        try? manager.removeItem(at: url)
        guard manager.createFile(atPath: url.path, contents: Data((text.hasSuffix("\n") ? text : text + "\n").utf8),
                                 attributes: [.posixPermissions: mode]) else {
            throw TLSFileError("\(url.path): cannot write")
        }
    }
}

/// The 4 or 16 bytes of an IPv4 or IPv6 address in text; nil when it is not one.
func IPAddressBytes(_ text: String) -> [UInt8]? {
    var v4 = in_addr(), v6 = in6_addr()
    if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
    if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
    return nil
}

enum HostName {
    static func isValid(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 253 && text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            (1...63).contains(label.count) && label.first != "-" && label.last != "-"
                && label.allSatisfy { $0 == "-" || $0 == "*" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
        }
    }
}

public struct TLSFileError: Error, CustomStringConvertible, Sendable {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
