#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The result of checking a case folder against a profile: every rule, passed or failed,
/// with the path concerned and a message a clerk understands.
public struct ProfileReport: Sendable {
    public struct Rule: Sendable, Equatable {
        /// A stable rule id, e.g. "section.required", "document.count", "metadata.allowed".
        public let rule: String
        public let path: String
        public let passed: Bool
        public let message: String
    }

    public let profileID: String
    public let profileVersion: String
    public let profileSHA256: String
    public internal(set) var rules: [Rule] = []

    public var passed: Bool { rules.allSatisfy(\.passed) }
    public var failures: [Rule] { rules.filter { !$0.passed } }

    mutating func check(_ ok: Bool, _ rule: String, _ path: String, passed: String, failed: String) {
        rules.append(Rule(rule: rule, path: path, passed: ok, message: ok ? passed : failed))
    }
}

extension DossierProfile {
    /// Checks a case folder against this profile. Never throws for content problems: each
    /// becomes a failed rule. Throws only when the folder cannot be read.
    public func check(folder: String) throws(DossierError) -> ProfileReport {
        var report = ProfileReport(profileID: id, profileVersion: version, profileSHA256: sha256)
        // The folder's files, as (section, relative path, media type).
        var files: [(section: String, name: String, path: String, mediaType: String)] = []
        var topFolders: [String] = []
        var topFiles: [String] = []
        func walk(_ dir: String, _ relative: String) throws(DossierError) {
            let names: [[UInt8]]
            do { names = try FileSystem.listDirectory(dir) } catch { throw DossierError(.source, "\(error)") }
            for nameBytes in names {
                let name = String(decoding: nameBytes, as: UTF8.self)
                let path = dir + "/" + name
                let rel = relative.isEmpty ? name : relative + "/" + name
                guard let info = try? FileSystem.lstatus(path) else { continue }
                if FileSystem.isDirectory(info) {
                    if relative.isEmpty { topFolders.append(name) }
                    try walk(path, rel)
                } else if FileSystem.isRegular(info) {
                    if relative.isEmpty { topFiles.append(name); continue }
                    let section = String(rel.split(separator: "/")[0])
                    var head = [UInt8](repeating: 0, count: 16)
                    if let source = try? FileSource(path: path) {
                        let n = (try? head.withUnsafeMutableBytes { try source.read(into: $0) }) ?? 0
                        head = Array(head[0..<n])
                    }
                    files.append((section, name, rel, MediaType.detect(path: rel, head: head)))
                }
            }
        }
        try walk(folder, "")

        // Metadata.
        var metadata: [String: JSONValue] = [:]
        if let metadataFile {
            let path = folder + "/" + metadataFile
            if let bytes = try? FileSource(path: path).readAll(limit: 1 << 20) {
                do {
                    let value = try JSONValue.parse(bytes)
                    metadata = value.objectValue ?? [:]
                    report.check(value.objectValue != nil, "metadata.file", metadataFile, passed: "the metadata file is readable",
                                 failed: "the metadata file \(metadataFile) must hold a JSON object")
                } catch {
                    report.check(false, "metadata.file", metadataFile, passed: "", failed: "the metadata file \(metadataFile) is not valid JSON: \(error.description)")
                }
            } else {
                report.check(false, "metadata.file", metadataFile, passed: "", failed: "the metadata file \(metadataFile) is missing")
            }
        }
        for field in fields {
            let value = metadata[field.name]
            guard let value else {
                if field.required {
                    report.check(false, "metadata.required", field.name, passed: "", failed: "the metadata field \"\(field.name)\" is required but missing")
                }
                continue
            }
            let text: String?
            switch field.kind {
            case .string: text = value.stringValue
            case .integer: text = value.integerValue.map(String.init)
            case .boolean: text = value.boolValue.map { $0 ? "true" : "false" }
            case .date: text = value.stringValue.flatMap { Self.isDate($0) ? $0 : nil }
            }
            report.check(text != nil, "metadata.type", field.name, passed: "\"\(field.name)\" is a \(field.kind.rawValue)",
                         failed: field.kind == .date ? "the metadata field \"\(field.name)\" must be a date written YYYY-MM-DD"
                                                     : "the metadata field \"\(field.name)\" must be a \(field.kind.rawValue)")
            guard let text else { continue }
            if let allowed = field.allowed {
                report.check(allowed.contains(text), "metadata.allowed", field.name, passed: "\"\(field.name)\" is \(text)",
                             failed: "the metadata field \"\(field.name)\" is \"\(text)\"; allowed: \(allowed.joined(separator: ", "))")
            }
            if let pattern = field.pattern, let regex = try? Regex(pattern) {
                report.check(text.wholeMatch(of: regex) != nil, "metadata.pattern", field.name, passed: "\"\(field.name)\" has the expected form",
                             failed: "the metadata field \"\(field.name)\" (\"\(text)\") does not have the expected form \(pattern)")
            }
        }

        // Sections.
        let known = Set(sections.map(\.folder))
        for section in sections {
            let present = topFolders.contains(section.folder)
            var required = section.required
            if let condition = section.when {
                let actual = metadata[condition.field]?.stringValue
                let holds = actual == condition.equals
                if !holds {
                    report.check(!present, "section.condition", section.folder, passed: "section \(section.title) is correctly absent",
                                 failed: "section \(section.folder) (\(section.title)) belongs only in case files whose \(condition.field) is \"\(condition.equals)\" (this one is \"\(actual ?? "unset")\")")
                    continue
                }
                required = true
            }
            if !present {
                if required {
                    report.check(false, "section.required", section.folder, passed: "",
                                 failed: "section \(section.folder) (\(section.title)) is missing: every case file of this kind needs it")
                }
                continue
            }
            report.check(true, "section.required", section.folder, passed: "section \(section.title) is present", failed: "")
            let sectionFiles = files.filter { $0.section == section.folder }
            for rule in section.documents {
                let matching = sectionFiles.filter { fnmatch(rule.name, $0.name, 0) == 0 }
                let what = rule.description ?? "documents named \(rule.name)"
                let countOK = matching.count >= rule.min && (rule.max.map { matching.count <= $0 } ?? true)
                let bounds = rule.max.map { rule.min == $0 ? "exactly \($0)" : "\(rule.min) to \($0)" } ?? "at least \(rule.min)"
                report.check(countOK, "document.count", section.folder + "/" + rule.name, passed: "\(section.title): \(matching.count) \(what)",
                             failed: "\(section.title) needs \(bounds) \(what); found \(matching.count)")
                if let types = rule.mediaTypes {
                    for file in matching {
                        report.check(types.contains(file.mediaType), "document.mediaType", file.path, passed: "\(file.path) is \(file.mediaType)",
                                     failed: "\(file.path) is \(file.mediaType); \(what) must be \(types.joined(separator: " or "))")
                    }
                }
            }
        }
        if !allowExtraSections {
            for folderName in topFolders where !known.contains(folderName) {
                report.check(false, "section.unknown", folderName, passed: "",
                             failed: "folder \(folderName) is not a section of \(title); move its documents into the right section")
            }
        }
        if let allowed = allowedMediaTypes {
            for file in files where !allowed.contains(file.mediaType) {
                report.check(false, "mediaType.allowed", file.path, passed: "",
                             failed: "\(file.path) is \(file.mediaType), which this profile does not accept (\(allowed.joined(separator: ", ")))")
            }
        }
        for name in topFiles where name != metadataFile {
            report.check(false, "file.placement", name, passed: "", failed: "\(name) lies outside every section; put it into a section folder")
        }
        return report
    }

    /// Whether the public metadata chosen for disclosure is allowed by the profile.
    func checkDisclosure(_ metadata: [String: String]) throws(DossierError) {
        let refused = metadata.keys.filter { !publicFields.contains($0) }.sorted()
        guard refused.isEmpty else {
            throw DossierError(.profile, "the profile \(id) does not allow disclosing \(refused.joined(separator: ", ")) in the public manifest",
                               hint: "publishable fields: \(publicFields.joined(separator: ", "))")
        }
    }

    static func isDate(_ text: String) -> Bool {
        let b = Array(text.utf8)
        guard b.count == 10, b[4] == 45, b[7] == 45 else { return false }
        return Timestamp.parse(text + "T00:00:00Z") != nil
    }
}
