import ArgumentParser
import DossierKit
import Foundation

extension DossierCommand {
    struct Keygen: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "keygen",
            abstract: "Create an encryption identity and a signing key.",
            discussion: """
                Writes PREFIX.age (age X25519 identity, secret, mode 0600), PREFIX.recipient \
                (its age1... recipient, public), PREFIX.sign (Ed25519 signing key, secret, mode \
                0600) and PREFIX.pub (minisign public key, public). Existing files are never \
                overwritten. With --protect, both secret files are encrypted with a passphrase \
                (age scrypt), asked on the terminal or read from --passphrase-fd / DOSSIER_PASSPHRASE.

                Example:
                  dossier keygen --name "Anna Archivist" keys/anna
                """)

        @Argument(help: ArgumentHelp("Path prefix of the files to create.", valueName: "prefix"))
        var prefix: String

        @Option(help: "The key holder's name, recorded in the signing key and its signatures.")
        var name: String?

        @Flag(help: "Protect the secret files with a passphrase.")
        var protect = false

        @OptionGroup var passphrase: PassphraseOptions

        @Flag(help: "Print the public parts as JSON.")
        var json = false

        func run() throws {
            do {
                guard !prefix.hasSuffix("/"), !prefix.isEmpty, lastPart(of: prefix) != "." else {
                    throw ValidationError("the prefix names the key files (e.g. keys/anna for keys/anna.age …), not a folder")
                }
                if let existing = try? FileManager.default.attributesOfItem(atPath: prefix)[.type] as? FileAttributeType, existing == .typeDirectory {
                    throw ValidationError("\(prefix) is a folder; give a prefix inside it, e.g. \(prefix)/anna")
                }
                // The folder for the keys is made if needed, private (0700): it holds secret keys.
                let folder = folderPart(of: prefix)
                if !folder.isEmpty && !FileManager.default.fileExists(atPath: folder) {
                    do {
                        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                    } catch let error as CocoaError {
                        throw DossierError(.output, "cannot create the folder \(folder): \(describe(error))")
                    }
                }
                let paths = ["age", "recipient", "sign", "pub"].map { "\(prefix).\($0)" }
                if let existing = paths.first(where: { FileManager.default.fileExists(atPath: $0) }) {
                    throw DossierError(.output, "\(existing) already exists", hint: "choose another prefix; keys are never overwritten")
                }
                var secret: Passphrase?
                if protect {
                    let first = try passphrase.provider("passphrase for the new keys: ")()
                    if passphrase.passphraseFD == nil && PassphraseReader.environmentPassphrase == nil {
                        let again = try passphrase.provider("repeat the passphrase: ")()
                        guard again.matches(first) else { throw ValidationError("the passphrases differ") }
                    }
                    guard !first.isEmpty else { throw ValidationError("the passphrase is empty") }
                    secret = first
                }
                let identity = try AgeX25519.generate()
                let signing = try SigningKey.generate(name: name)
                if let secret { try identity.writeIdentityFile(toPath: paths[0], passphrase: secret) } else { try identity.writeIdentityFile(toPath: paths[0]) }
                try Data((identity.recipient + "\n").utf8).write(to: URL(fileURLWithPath: paths[1]), options: .withoutOverwriting)
                if let secret { try signing.write(toPath: paths[2], passphrase: secret) } else { try signing.write(toPath: paths[2]) }
                try Data(signing.publicKey.fileText.utf8).write(to: URL(fileURLWithPath: paths[3]), options: .withoutOverwriting)
                if json {
                    Console.json(.object(["recipient": .string(identity.recipient), "signingKeyId": .string(signing.publicKey.keyID),
                                          "signingPublicKey": .string(signing.publicKey.base64), "files": .array(paths.map { .string($0) })]))
                } else {
                    print("recipient:   \(identity.recipient)")
                    print("signing key: \(signing.publicKey.keyID) \(signing.publicKey.base64)")
                    print("trust line:  sealer,reader \(signing.publicKey.base64) \(name ?? "KEY HOLDER NAME")")
                    print("wrote \(paths.joined(separator: ", "))")
                }
            } catch let error as ValidationError {
                throw error
            } catch {
                throw fail(error)
            }
        }
    }
}
