// swift-tools-version: 6.1
import PackageDescription

// swift-dossier: seal closed case dossiers into signed, encrypted archives.
//
// Data flow (see docs/ARCHITECTURE.md):
//   folder ─► inner archive ─► age payload ─► container, signatures over the manifest ─► access log
// Only DossierKit's backend files import the C modules below (and the CLI CDossierSystem, for its
// passphrase prompt's terminal guard); nothing public exposes a C pointer.
let package = Package(
    name: "swift-dossier",
    products: [
        .library(name: "DossierKit", targets: ["DossierKit"]),
        .executable(name: "dossier", targets: ["dossier"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        // OpenSSL 3 (libcrypto) with a one-header shim for what Swift cannot import.
        .systemLibrary(
            name: "CDossierOpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // libarchive with a one-header shim.
        .systemLibrary(
            name: "CDossierArchive",
            pkgConfig: "libarchive",
            providers: [.apt(["libarchive-dev"])]
        ),
        // libdeflate: CRC-32 of container entries (PCLMUL-accelerated).
        .systemLibrary(
            name: "CDossierDeflate",
            pkgConfig: "libdeflate",
            providers: [.apt(["libdeflate-dev"])]
        ),
        // zlib: inflating compressed test vectors, and the reference CRC-32 in the tests.
        .systemLibrary(
            name: "CDossierZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // libzstd: compressing the inner tar with bounded memory (worker count, job size).
        .systemLibrary(
            name: "CDossierZstd",
            pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]
        ),
        // System calls Glibc does not expose (renameat2).
        .systemLibrary(name: "CDossierSystem"),
        // The CLI's crc32 for libarchive's zip CRC-32s, computed by libdeflate (see its source).
        .target(name: "CDossierZipCRC", linkerSettings: [.linkedLibrary("deflate")]),
        .target(
            name: "DossierKit",
            dependencies: [
                "CDossierOpenSSL", "CDossierArchive", "CDossierDeflate", "CDossierZstd", "CDossierSystem", "CDossierZlib",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]
        ),
        .executableTarget(
            name: "dossier",
            dependencies: [
                "DossierKit", "CDossierZipCRC", "CDossierSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "DossierKitTests",
            dependencies: ["DossierKit", "CDossierZlib", "CDossierZstd", .product(name: "GRDB", package: "GRDB.swift")],
            resources: [.copy("Vectors")]
        ),
        // Small programs that use only the public API (run by scripts/test).
        .executableTarget(name: "seal-folder", dependencies: ["DossierKit"], path: "Examples/SealFolder"),
        .executableTarget(name: "verify-shelf", dependencies: ["DossierKit"], path: "Examples/VerifyShelf"),
        .executableTarget(name: "read-history", dependencies: ["DossierKit"], path: "Examples/ReadHistory"),
        .executableTarget(name: "seal-and-open", dependencies: ["DossierKit"], path: "Examples/SealAndOpen"),
        // The fuzz harness (docs/FUZZING.md): libFuzzer targets with -D DOSSIER_FUZZING, a seed writer and replayer without.
        .systemLibrary(name: "CDossierFuzz", path: "Fuzz/CDossierFuzz"),
        .executableTarget(name: "dossier-fuzz", dependencies: ["DossierKit", "CDossierFuzz"], path: "Fuzz/Harness"),
        .testTarget(
            name: "dossierCLITests",
            dependencies: ["dossier", "CDossierZipCRC", "CDossierZlib", "DossierKit"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
