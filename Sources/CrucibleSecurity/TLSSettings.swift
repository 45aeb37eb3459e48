import Foundation
import NIOSSL

/// TLS configurations from Kafka's `ssl.*` keys (the Java names, and librdkafka's for clients), so the settings
/// users already have for Kafka work unchanged. `value` resolves a key (a listener's own prefix first, for the
/// broker); every error names the key at fault.
public enum TLSSettings {
    public typealias Lookup = (String) -> String?

    /// A listener's server side: its certificate and key, and whom it trusts when `ssl.client.auth` asks clients
    /// for theirs.
    public static func server(_ value: Lookup) throws -> TLSConfiguration {
        let versions = try protocolRange(value)
        guard let identity = try identity(value) else {
            throw SecurityConfigError(key: "ssl.keystore.location",
                                      "a TLS listener needs a certificate: set ssl.keystore.location, or ssl.keystore.certificate.chain and ssl.keystore.key")
        }
        var config = TLSConfiguration.makeServerConfiguration(certificateChain: identity.chain.map { .certificate($0) },
                                                              privateKey: .privateKey(identity.key))
        (config.minimumTLSVersion, config.maximumTLSVersion) = versions
        let clientAuth = (value("ssl.client.auth") ?? "none").lowercased()
        switch clientAuth {
        case "none": config.certificateVerification = .none
        case "requested": config.certificateVerification = .optionalVerification
        case "required": config.certificateVerification = .noHostnameVerification
        default: throw SecurityConfigError(key: "ssl.client.auth", "'\(clientAuth)' must be none, requested or required")
        }
        if clientAuth != "none" {
            guard let roots = try trustedCertificates(value) else {
                throw SecurityConfigError(key: "ssl.truststore.location",
                                          "ssl.client.auth=\(clientAuth) needs the certificates clients are checked against")
            }
            config.trustRoots = .certificates(roots)
            config.sendCANameList = true
        }
        return config
    }

    /// A client's side: whom it trusts (the system's roots unless told), its own certificate when the broker asks,
    /// and whether the broker's name is checked (`ssl.endpoint.identification.algorithm`, https by default).
    public static func client(_ value: Lookup) throws -> TLSConfiguration {
        var config = TLSConfiguration.makeClientConfiguration()
        (config.minimumTLSVersion, config.maximumTLSVersion) = try protocolRange(value)
        if let roots = try trustedCertificates(value) { config.trustRoots = .certificates(roots) }
        if let identity = try identity(value) {
            config.certificateChain = identity.chain.map { .certificate($0) }
            config.privateKey = .privateKey(identity.key)
        }
        let algorithm = (value("ssl.endpoint.identification.algorithm") ?? "https").lowercased()
        guard algorithm == "https" || algorithm.isEmpty || algorithm == "none" else {
            throw SecurityConfigError(key: "ssl.endpoint.identification.algorithm", "'\(algorithm)' must be https or empty")
        }
        config.certificateVerification = algorithm == "https" ? .fullVerification : .noHostnameVerification
        if value("enable.ssl.certificate.verification")?.lowercased() == "false" { config.certificateVerification = .none }
        return config
    }

    /// `ssl.enabled.protocols`: TLSv1.2 and TLSv1.3 by default, as Kafka.
    static func protocolRange(_ value: Lookup) throws -> (TLSVersion, TLSVersion?) {
        let names = (value("ssl.enabled.protocols") ?? "TLSv1.2,TLSv1.3").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let versions: [TLSVersion] = try names.map { name in
            switch name.uppercased() {
            case "TLSV1.2": return .tlsv12
            case "TLSV1.3": return .tlsv13
            default: throw SecurityConfigError(key: "ssl.enabled.protocols", "'\(name)' is not supported (TLSv1.2, TLSv1.3)")
            }
        }
        guard !versions.isEmpty else { throw SecurityConfigError(key: "ssl.enabled.protocols", "is empty") }
        return (versions.contains(.tlsv12) ? .tlsv12 : .tlsv13, versions.contains(.tlsv13) ? .tlsv13 : .tlsv12)
    }

    struct Identity {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
    }

    /// The certificate chain and key: inline PEM (`ssl.keystore.certificate.chain` + `ssl.keystore.key`, KIP-651),
    /// a keystore file (`ssl.keystore.location`, PEM or PKCS12), or librdkafka's `ssl.certificate.location` +
    /// `ssl.key.location` (and their `.pem` inline forms).
    static func identity(_ value: Lookup) throws -> Identity? {
        let keyPassword = value("ssl.key.password")
        if let chain = value("ssl.keystore.certificate.chain") {
            guard let key = value("ssl.keystore.key") else {
                throw SecurityConfigError(key: "ssl.keystore.key", "ssl.keystore.certificate.chain is set without its key")
            }
            return Identity(chain: try certificates(pem: chain, key: "ssl.keystore.certificate.chain"),
                            key: try privateKey(pem: key, password: keyPassword, key: "ssl.keystore.key"))
        }
        if let location = value("ssl.keystore.location") {
            let type = try storeType(value("ssl.keystore.type"), location: location, key: "ssl.keystore.type")
            if type == "PKCS12" {
                do {
                    let bundle = try NIOSSLPKCS12Bundle(file: location, passphrase: Array((value("ssl.keystore.password") ?? "").utf8))
                    return Identity(chain: bundle.certificateChain, key: bundle.privateKey)
                } catch {
                    throw SecurityConfigError(key: "ssl.keystore.location", "cannot read the PKCS12 keystore \(location): \(error)")
                }
            }
            let text = try read(location, key: "ssl.keystore.location")
            return Identity(chain: try certificates(pem: text, key: "ssl.keystore.location"),
                            key: try privateKey(pem: text, password: keyPassword ?? value("ssl.keystore.password"),
                                                key: "ssl.keystore.location"))
        }
        let certificatePEM = try value("ssl.certificate.pem") ?? value("ssl.certificate.location").map {
            try read($0, key: "ssl.certificate.location")
        }
        let keyPEM = try value("ssl.key.pem") ?? value("ssl.key.location").map { try read($0, key: "ssl.key.location") }
        switch (certificatePEM, keyPEM) {
        case (nil, nil): return nil
        case (let certificate?, let key?):
            return Identity(chain: try certificates(pem: certificate, key: "ssl.certificate.location"),
                            key: try privateKey(pem: key, password: keyPassword, key: "ssl.key.location"))
        case (nil, _): throw SecurityConfigError(key: "ssl.certificate.location", "ssl.key.location is set without a certificate")
        case (_, nil): throw SecurityConfigError(key: "ssl.key.location", "ssl.certificate.location is set without a key")
        }
    }

    /// Trusted certificates: `ssl.truststore.certificates` (inline PEM), `ssl.truststore.location` (PEM or
    /// PKCS12), or librdkafka's `ssl.ca.location` / `ssl.ca.pem`.
    static func trustedCertificates(_ value: Lookup) throws -> [NIOSSLCertificate]? {
        if let pem = value("ssl.truststore.certificates") ?? value("ssl.ca.pem") {
            return try certificates(pem: pem, key: "ssl.truststore.certificates")
        }
        if let location = value("ssl.truststore.location") {
            let type = try storeType(value("ssl.truststore.type"), location: location, key: "ssl.truststore.type")
            if type == "PKCS12" {
                do {
                    return try NIOSSLPKCS12Bundle(file: location, passphrase: Array((value("ssl.truststore.password") ?? "").utf8))
                        .certificateChain
                } catch {
                    throw SecurityConfigError(key: "ssl.truststore.location", "cannot read the PKCS12 truststore \(location): \(error)")
                }
            }
            return try certificates(pem: read(location, key: "ssl.truststore.location"), key: "ssl.truststore.location")
        }
        if let location = value("ssl.ca.location"), location != "probe" {
            return try certificates(pem: read(location, key: "ssl.ca.location"), key: "ssl.ca.location")
        }
        return nil
    }

    /// PEM or PKCS12 (JKS is Java's own format: convert it with keytool).
    static func storeType(_ declared: String?, location: String, key: String) throws -> String {
        if let declared {
            let type = declared.uppercased()
            guard type == "PEM" || type == "PKCS12" else {
                throw SecurityConfigError(key: key, "'\(declared)' is not supported: use PEM or PKCS12 (convert a JKS store with `keytool -importkeystore -deststoretype PKCS12`)")
            }
            return type
        }
        // Kafka's default is JKS, which Crucible cannot read; a PEM file shows itself by its first line.
        let head = (try? FileHandle(forReadingFrom: URL(fileURLWithPath: location)).read(upToCount: 64)) ?? nil
        return head.map { String(decoding: $0, as: UTF8.self).contains("-----BEGIN") } == true ? "PEM" : "PKCS12"
    }

    static func read(_ path: String, key: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SecurityConfigError(key: key, "cannot read \(path)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    static func certificates(pem: String, key: String) throws -> [NIOSSLCertificate] {
        let found = try? NIOSSLCertificate.fromPEMBytes(Array(pem.utf8))
        guard let found, !found.isEmpty else { throw SecurityConfigError(key: key, "holds no PEM certificate") }
        return found
    }

    static func privateKey(pem: String, password: String?, key: String) throws -> NIOSSLPrivateKey {
        do {
            // Always through the callback: without one an encrypted key makes BoringSSL prompt on the terminal.
            return try NIOSSLPrivateKey(bytes: Array(pem.utf8), format: .pem) { give in give(Array((password ?? "").utf8)) }
        } catch {
            throw SecurityConfigError(key: key, "holds no PEM private key that can be read\(password == nil ? " (is it encrypted? set ssl.key.password)" : " with ssl.key.password")")
        }
    }
}
