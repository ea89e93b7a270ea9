/// DossierKit seals closed case dossiers into signed, encrypted `.dossier` archives,
/// verifies them with public keys only, and opens them again with every access logged.
///
/// The layers, from the inside out (see docs/ARCHITECTURE.md and docs/FORMAT.md):
/// inner archive (pax tar) → encrypted payload (age v1) → container (zip) with a public
/// manifest and detached signatures → access log.
public enum DossierKit {
    /// The version of this library.
    public static let version = "0.1.0-dev"

    /// The versions of the C libraries DossierKit runs on, for bug reports and `dossier version`.
    public static var backendVersions: [String: String] {
        [
            "openssl": OpenSSLInfo.version,
            "libarchive": LibArchive.versionDetails,
        ]
    }
}
