import DossierKit
import Foundation
#if DOSSIER_FUZZING
import CDossierFuzz
#endif

/// The fuzz harness (docs/FUZZING.md).
///   DOSSIER_FUZZ_TARGET=NAME dossier-fuzz [libFuzzer flags] CORPUS...   (fuzzing build only)
///   dossier-fuzz seeds OUTDIR [AGE-VECTORS-DIR]
///   dossier-fuzz replay TARGET FILE...
///   dossier-fuzz list
@main
struct FuzzMain {
    nonisolated(unsafe) static var target = ""

    static func main() throws {
        Seeds.prepareKnownDossiers()
        #if DOSSIER_FUZZING
        if let name = ProcessInfo.processInfo.environment["DOSSIER_FUZZ_TARGET"] {
            guard FuzzEntryPoints.targets.contains(name) else { fail("unknown target \(name): \(FuzzEntryPoints.targets.joined(separator: ", "))") }
            target = name
            var argc = CommandLine.argc
            var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
            exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
                FuzzTargets.run(FuzzMain.target, data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
                return 0
            })
        }
        #endif
        let args = CommandLine.arguments
        switch args.count > 1 ? args[1] : "" {
        case "seeds" where args.count >= 3:
            try Seeds.write(to: args[2], vectors: args.count > 3 ? args[3] : nil)
        case "replay" where args.count >= 3:
            guard FuzzEntryPoints.targets.contains(args[2]) else { fail("unknown target \(args[2])") }
            for file in args.dropFirst(3) {
                guard let data = FileManager.default.contents(atPath: file) else { fail("cannot read \(file)") }
                FuzzTargets.run(args[2], Array(data))
            }
            print("replayed \(args.count - 3) inputs through \(args[2]) without a crash")
        case "list":
            print(FuzzEntryPoints.targets.joined(separator: "\n"))
        default:
            fail("usage: dossier-fuzz seeds OUTDIR [AGE-VECTORS-DIR] | replay TARGET FILE... | list (DOSSIER_FUZZ_TARGET=NAME to fuzz)")
        }
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(64)
    }
}
