import AerieCore
import Foundation

/// Unpacks a deployed function's zip into a directory, refusing every entry that could write outside it.
///
/// Checked before anything is written: each entry's path (no absolute path, no `..` component, no backslash or NUL,
/// at most `maxPathLength` bytes), symbolic links (their target must stay inside the package, and no entry may lie
/// beneath one), the entry count and the declared uncompressed size; while writing, the bytes actually produced are
/// counted again, so an archive that lies about its sizes is stopped at the limit too.
public struct FunctionPackage: Sendable {
    public struct Limits: Sendable, Hashable {
        /// The largest zip accepted (HTTP 413 beyond).
        public var maxArchiveBytes: Int
        /// The most bytes the package may unpack to (413 beyond).
        public var maxUnpackedBytes: UInt64
        public var maxEntries: Int
        public var maxPathLength: Int

        public init(maxArchiveBytes: Int = 64 << 20, maxUnpackedBytes: UInt64 = 256 << 20, maxEntries: Int = 10_000, maxPathLength: Int = 1024) {
            self.maxArchiveBytes = maxArchiveBytes
            self.maxUnpackedBytes = maxUnpackedBytes
            self.maxEntries = maxEntries
            self.maxPathLength = maxPathLength
        }
    }

    public var limits: Limits

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// A path inside the package, checked; its components.
    static func checkedComponents(_ path: String, maxLength: Int) throws -> [String] {
        guard !path.isEmpty, path.utf8.count <= maxLength else {
            throw refusal("The zip holds an entry with an empty or overlong path (\(path.prefix(80))…); paths are 1–\(maxLength) bytes.")
        }
        guard !path.hasPrefix("/") else {
            throw refusal("The zip entry \(path) has an absolute path; every entry must lie inside the package.")
        }
        guard !path.contains("\\"), !path.contains("\u{0}") else {
            throw refusal("The zip entry \(path.debugDescription) holds a backslash or NUL; use / between folders.")
        }
        let components = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard !components.contains("..") else {
            throw refusal("The zip entry \(path) climbs out of the package with `..`; every entry must lie inside it.")
        }
        let meaningful = components.filter { $0 != "." }
        guard !meaningful.isEmpty else {
            throw refusal("The zip entry \(path) names no file.")
        }
        return meaningful
    }

    static func refusal(_ message: String) -> AerieError {
        AerieError(.unprocessable, message)
    }

    /// Whether a symbolic link at `linkComponents` pointing to `target` stays inside the package.
    static func linkStaysInside(linkComponents: [String], target: String) -> Bool {
        guard !target.isEmpty, !target.hasPrefix("/"), !target.contains("\u{0}") else { return false }
        var stack = Array(linkComponents.dropLast())
        for part in target.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..":
                guard !stack.isEmpty else { return false }
                stack.removeLast()
            default: stack.append(String(part))
            }
        }
        return true
    }

    /// Unpacks `archive` (the zip's bytes) into `directory`, which must exist and be empty. Throws `.tooLarge` (413)
    /// or `.unprocessable` (422) with what to change; on error, what was written stays for the caller to remove.
    public func unpack(_ data: Data, into directory: URL) throws {
        guard data.count <= limits.maxArchiveBytes else {
            throw AerieError(.tooLarge, "The package is \(data.count) bytes; at most \(limits.maxArchiveBytes) are accepted. Leave large files out or fetch them at run time.")
        }
        let all = try ZipArchive.entries(data)
        // First pass: check everything before writing anything.
        var entries: [(entry: ZipArchive.Entry, components: [String])] = []
        var declared: UInt64 = 0
        var links = Set<[String]>()
        var targets: [[String]: String] = [:]
        for entry in all {
            guard entries.count < limits.maxEntries else {
                throw AerieError(.tooLarge, "The package holds more than \(limits.maxEntries) entries.")
            }
            let components = try Self.checkedComponents(entry.path, maxLength: limits.maxPathLength)
            declared += entry.uncompressedSize
            guard declared <= limits.maxUnpackedBytes else {
                throw AerieError(.tooLarge, "The package unpacks to more than \(limits.maxUnpackedBytes) bytes.")
            }
            if entry.kind == .symlink {
                let target = try ZipArchive.contents(entry, in: data, limit: UInt64(limits.maxPathLength))
                let text = String(decoding: target, as: UTF8.self)
                guard Self.linkStaysInside(linkComponents: components, target: text) else {
                    throw Self.refusal("The symbolic link \(entry.path) points outside the package (to \(text)); links must stay inside it.")
                }
                links.insert(components)
                targets[components] = text
            }
            entries.append((entry, components))
        }
        for (entry, components) in entries {
            for length in 1..<max(1, components.count) where links.contains(Array(components.prefix(length))) {
                throw Self.refusal("The zip entry \(entry.path) lies beneath the symbolic link \(components.prefix(length).joined(separator: "/")); a package may not write through a link.")
            }
        }
        // Second pass: write directories and files, then links (so nothing is written through one).
        let fileManager = FileManager.default
        var written: UInt64 = 0
        for (entry, components) in entries where entry.kind != .symlink {
            let url = components.reduce(directory) { $0.appendingPathComponent($1) }
            switch entry.kind {
            case .directory:
                try fileManager.createDirectory(at: url, withIntermediateDirectories: true)
            case .file:
                try fileManager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                let bytes = try ZipArchive.contents(entry, in: data, limit: limits.maxUnpackedBytes - written)
                written += UInt64(bytes.count)
                guard !fileManager.fileExists(atPath: url.path), fileManager.createFile(atPath: url.path, contents: bytes) else {
                    throw Self.refusal("The zip entry \(entry.path) could not be written (is it listed twice?).")
                }
                let mode: Int16 = entry.mode & 0o111 != 0 ? 0o755 : 0o644
                try fileManager.setAttributes([.posixPermissions: NSNumber(value: mode)], ofItemAtPath: url.path)
            case .symlink:
                break
            }
        }
        for (_, components) in entries where links.contains(components) {
            let url = components.reduce(directory) { $0.appendingPathComponent($1) }
            try fileManager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try fileManager.createSymbolicLink(atPath: url.path, withDestinationPath: targets[components] ?? "")
        }
    }
}
