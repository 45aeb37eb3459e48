import Crypto
import Foundation
import SwiftASN1
import X509

/// A certificate authority made on the spot for a local cluster (`cluster up --security`): its certificate
/// signs each node's and a client's, all ECDSA P-256, with the addresses they are reached at as subject
/// alternative names so clients check hostnames as usual.
public struct LocalCertificateAuthority {
    private let key: P256.Signing.PrivateKey
    private let certificate: Certificate
    private let name: DistinguishedName

    public init(commonName: String) throws {
        key = P256.Signing.PrivateKey()
        name = try DistinguishedName {
            OrganizationName("Crucible")
            CommonName(commonName)
        }
        let now = Date()
        certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(10 * 365 * 86400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(key))
    }

    public var certificatePEM: String { get throws { try certificate.serializeAsPEM().pemString + "\n" } }

    /// A certificate for `commonName`, valid for both server and client authentication, and its key (PKCS#8 PEM).
    public func issue(commonName: String, dnsNames: [String], ipAddresses: [String]) throws -> (certificate: String, key: String) {
        let leafKey = P256.Signing.PrivateKey()
        let subject = try DistinguishedName {
            OrganizationName("Crucible")
            CommonName(commonName)
        }
        let names: [GeneralName] = dnsNames.map { .dnsName($0) } + ipAddresses.compactMap { address in
            Self.ipv4Bytes(address).map { .ipAddress(ASN1OctetString(contentBytes: $0[...])) }
        }
        let now = Date()
        let leaf = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(leafKey.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(10 * 365 * 86400),
            issuer: name, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames(names)
            },
            issuerPrivateKey: .init(key))
        return (try leaf.serializeAsPEM().pemString + "\n", leafKey.pemRepresentation + "\n")
    }

    static func ipv4Bytes(_ address: String) -> [UInt8]? {
        let parts = address.split(separator: ".").compactMap { UInt8($0) }
        return parts.count == 4 ? parts : nil
    }
}

/// Kafka's principal for a TLS client: `User:` and the certificate's subject as RFC 2253 writes it
/// (`User:CN=client,O=Crucible`), the default of `ssl.principal.mapping.rules`.
public enum CertificatePrincipal {
    /// `User:` and the name `mapper` makes of the certificate's subject; nil for an unreadable certificate or a
    /// subject no mapping rule applies to.
    public static func principal(fromDER der: [UInt8], mapper: SslPrincipalMapper = .default) -> String? {
        guard let certificate = try? Certificate(derEncoded: der),
              let name = mapper.name(forSubject: "\(certificate.subject)") else { return nil }
        return "User:\(name)"
    }
}
