// swift-tools-version: 6.1
// Benchmarks for swift-dossier (ordo-one/benchmark), kept out of the root package so the
// library never depends on the harness. Run from this folder:
//   swift package benchmark                      # all
//   swift package benchmark --filter "age.*"     # one group
import Foundation
import PackageDescription

// A path dependency's identity is its folder name, which differs between clones.
let rootIdentity = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "DossierBenchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "DossierBenchmarks",
            dependencies: [
                .product(name: "DossierKit", package: rootIdentity),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/DossierBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "AgeBenchmarks",
            dependencies: [
                .product(name: "DossierKit", package: rootIdentity),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/AgeBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
