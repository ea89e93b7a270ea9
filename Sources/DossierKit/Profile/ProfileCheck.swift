#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The result of checking a case folder against a profile: every rule, passed or failed,
/// with the path concerned and a message a clerk understands.
public struct ProfileReport: Sendable {
    /// One rule applied to one place, and its outcome.
    public struct Rule: Sendable, Equatable {
        /// A stable rule id, e.g. "section.required", "document.count", "metadata.allowed".
        public let rule: String
        /// Where: a path relative to the case folder (a file, a folder, a section), a
        /// metadata field's name, the metadata file's name, or "SECTION/PATTERN" for a
        /// document count.
        public let path: String
        /// Whether the place meets the rule.
        public let passed: Bool
        /// What was found, for a clerk: what is right when it passed, what is wrong (and
        /// often what to do) when it failed.
        public let message: String
    }

    /// The id of the profile checked against.
    public let profileID: String
    /// The version of the profile checked against.
    public let profileVersion: String
    /// SHA-256 (hex) of the profile file's bytes.
    public let profileSHA256: String
    /// Every rule applied, in the order checked: files that sealing would refuse, metadata,
    /// sections and their documents, then extra folders, media types and loose files.
    public internal(set) var rules: [Rule] = []

    /// True when no rule failed (also when there were none to apply).
    public var passed: Bool { rules.allSatisfy(\.passed) }
    /// The failed rules, in the order checked.
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
        // The folder's files, as (section, name in NFC, relative path, media type).
        var files: [(section: String, name: String, path: String, mediaType: String)] = []
        var topFolders: [String] = []
        var topFiles: [String] = []
        // What sealing would refuse is a failed rule here too, so that check and seal agree.
        func unsealable(_ path: String, _ why: String) {
            report.check(false, "file.unsealable", path, passed: "", failed: "\(path) \(why); sealing refuses it")
        }
        // Sealing's path rules and collision check (DossierPath), on names in NFC as sealed.
        var collisions = DossierPath.CollisionDetector()
        // On descriptors, as sealing walks: each folder is opened once (never through a
        // link) and what it holds is looked at relative to it, so a tree deeper than the
        // system's path limit (PATH_MAX counts the case folder's own path too) is checked
        // as it is sealed.
        func walk(_ dir: Int32, _ relative: String) throws(DossierError) {
            let shown = { relative.isEmpty ? folder : folder + "/" + relative }
            let entries: [FileSystem.DirectoryEntry]
            do { entries = try FileSystem.listDirectory(fd: dir, path: shown()) } catch {
                guard !relative.isEmpty else { throw DossierError(.source, "\(error)") }
                unsealable(relative, "cannot be read (\(error))")
                return
            }
            for entry in entries {
                let nameBytes = entry.name
                let decoded = String(decoding: nameBytes, as: UTF8.self)
                let rel = relative.isEmpty ? decoded : relative + "/" + decoded
                guard let name = String(validating: nameBytes, as: UTF8.self) else {
                    unsealable(rel, "has a name that is not valid UTF-8 (shown with \u{FFFD}); rename it")
                    continue
                }
                let info: stat
                do { info = try FileSystem.lstatusAt(dir, nameBytes, path: folder + "/" + rel) } catch {
                    unsealable(rel, "cannot be examined (\(error))")
                    continue
                }
                if FileSystem.isDirectory(info) || FileSystem.isRegular(info) {
                    do {
                        let sealed = try DossierPath.validate(DossierPath.nfc(Array(rel.utf8)))
                        try collisions.insert(sealed, isFolder: FileSystem.isDirectory(info))
                    } catch {
                        report.check(false, "file.unsealable", rel, passed: "", failed: "\(error); sealing refuses it")
                        continue
                    }
                }
                if FileSystem.isDirectory(info) {
                    if relative.isEmpty { topFolders.append(name) }
                    let child = FileSystem.openAt(dir, nameBytes, flags: O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    guard child >= 0 else {
                        unsealable(rel, "cannot be read (\(FileError(operation: "open directory", path: nil, code: errno)))")
                        continue
                    }
                    defer { close(child) }
                    try walk(child, rel)
                } else if FileSystem.isRegular(info) {
                    if relative.isEmpty { topFiles.append(name); continue }
                    let section = FileSystem.components(of: rel)[0]
                    var head = [UInt8](repeating: 0, count: 16)
                    let fd = FileSystem.openAt(dir, nameBytes, flags: O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
                    guard fd >= 0 else {
                        unsealable(rel, "cannot be read (\(FileError(operation: "open", path: nil, code: errno)))")
                        continue
                    }
                    let n = head.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                    close(fd)
                    head = Array(head[0..<Swift.max(n, 0)])
                    files.append((section, name.precomposedStringWithCanonicalMapping, rel, MediaType.detect(path: rel, head: head)))
                } else if (info.st_mode & Glibc.S_IFMT) == Glibc.S_IFLNK {
                    unsealable(rel, "is a symbolic link; put the file itself there")
                } else {
                    unsealable(rel, "is not a regular file or folder (a pipe, socket or device)")
                }
            }
        }
        let root = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard root >= 0 else { throw DossierError(.source, FileError(operation: "open directory", path: folder, code: errno).description) }
        defer { close(root) }
        try walk(root, "")

        // Metadata.
        var metadata: [String: JSONValue] = [:]
        var metadataRead = true
        if let metadataFile {
            switch Self.readMetadata(folder + "/" + metadataFile) {
            case .success(let bytes):
                do {
                    let value = try JSONValue.parse(bytes)
                    metadata = value.objectValue ?? [:]
                    metadataRead = value.objectValue != nil
                    report.check(value.objectValue != nil, "metadata.file", metadataFile, passed: "the metadata file is readable",
                                 failed: "the metadata file \(metadataFile) must hold a JSON object")
                } catch {
                    metadataRead = false
                    report.check(false, "metadata.file", metadataFile, passed: "", failed: "the metadata file \(metadataFile) is not valid JSON: \(error.description)")
                }
            case .failure(let problem):
                metadataRead = false
                report.check(false, "metadata.file", metadataFile, passed: "", failed: "the metadata file \(metadataFile) \(problem.reason)")
            }
        }
        for field in fields where metadataRead {
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
                         failed: field.kind == .date
                             ? (value.stringValue.map(Self.looksLikeDate) == true
                                 ? "the metadata field \"\(field.name)\" (\(value.stringValue ?? "")) is not a date of the calendar"
                                 : "the metadata field \"\(field.name)\" must be a date written YYYY-MM-DD")
                                                     : "the metadata field \"\(field.name)\" must be a \(field.kind.rawValue)")
            guard let text else { continue }
            if let allowed = field.allowed {
                report.check(allowed.contains(text), "metadata.allowed", field.name, passed: "\"\(field.name)\" is \(text)",
                             failed: "the metadata field \"\(field.name)\" is \"\(text)\"; allowed: \(allowed.joined(separator: ", "))")
            }
            if let pattern = field.pattern, let matcher = field.matcher {
                let shown = text.abbreviated
                let tooLong = text.utf8.count > MetadataPattern.maxValueBytes
                report.check(matcher.matches(text), "metadata.pattern", field.name, passed: "\"\(field.name)\" has the expected form",
                             failed: tooLong
                                 ? "the metadata field \"\(field.name)\" (\"\(shown)\") is longer than \(MetadataPattern.maxValueBytes) bytes, the most a pattern is matched against"
                                 : "the metadata field \"\(field.name)\" (\"\(shown)\") does not have the expected form \(pattern)")
            }
        }

        // Sections.
        let known = Set(sections.map(\.folder))
        for section in sections {
            let present = topFolders.contains(section.folder)
            var required = section.required
            if let condition = section.when {
                let actual = metadata[condition.field].flatMap(Self.conditionText)
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
                let pattern = rule.name.precomposedStringWithCanonicalMapping
                // In UTF-8, so that `?` and `[é]` stand for a character, not a byte.
                let matching = LibArchive.withUTF8Locale { sectionFiles.filter { fnmatch(pattern, $0.name, 0) == 0 } }
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

    /// A metadata value as a `when` condition compares it: strings as they are, booleans as
    /// `true`/`false`, integers in decimal.
    static func conditionText(_ value: JSONValue) -> String? {
        value.stringValue ?? value.boolValue.map { $0 ? "true" : "false" } ?? value.integerValue.map(String.init)
    }

    struct MetadataProblem: Error { let reason: String }

    /// Reads the metadata file without following a link or blocking on a pipe; a UTF-8
    /// byte-order mark is dropped. The failure says why ("is missing", "is a symbolic link"…).
    static func readMetadata(_ path: String) -> Result<[UInt8], MetadataProblem> {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            switch errno {
            case ENOENT: return .failure(MetadataProblem(reason: "is missing"))
            case ELOOP: return .failure(MetadataProblem(reason: "is a symbolic link; put the file itself there"))
            default: return .failure(MetadataProblem(reason: "cannot be read (\(FileError(operation: "open", path: nil, code: errno)))"))
            }
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .failure(MetadataProblem(reason: "cannot be examined")) }
        guard info.st_mode & Glibc.S_IFMT == Glibc.S_IFREG else { return .failure(MetadataProblem(reason: "is not a regular file")) }
        guard info.st_size <= 1 << 20 else { return .failure(MetadataProblem(reason: "is larger than 1 MiB")) }
        do {
            var bytes = try FileSource(fileDescriptor: fd).readAll(limit: 1 << 20)
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
            return .success(bytes)
        } catch {
            return .failure(MetadataProblem(reason: "cannot be read (\(error))"))
        }
    }

    /// Whether `text` has the shape YYYY-MM-DD (digits and dashes), whether or not the date exists.
    static func looksLikeDate(_ text: String) -> Bool {
        let b = Array(text.utf8)
        return b.count == 10 && b.enumerated().allSatisfy { $0.offset == 4 || $0.offset == 7 ? $0.element == 45 : (48...57).contains($0.element) }
    }

    static func isDate(_ text: String) -> Bool {
        looksLikeDate(text) && Timestamp.parse(text + "T00:00:00Z") != nil
    }
}
