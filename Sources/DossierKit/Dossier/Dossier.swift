/// Sealed case dossiers: seal a folder to recipients signed by signers; verify a dossier
/// trusting keys and get a report; open a dossier with an identity into a folder.
///
/// A `.dossier` file is a zip container (docs/FORMAT.md) holding an age-encrypted payload
/// (a pax tar of the case folder plus a private manifest), a public manifest in canonical
/// JSON, and minisign-compatible signatures over the manifest's exact bytes.
public enum Dossier {}
