import CDossierOpenSSL

enum OpenSSLInfo {
    /// The libcrypto version string, e.g. "OpenSSL 3.0.19 27 Jan 2026".
    static var version: String { String(cString: OpenSSL_version(OPENSSL_VERSION)) }
    /// The libcrypto version number, e.g. 0x30000130.
    static var versionNumber: UInt { UInt(OpenSSL_version_num()) }
}
