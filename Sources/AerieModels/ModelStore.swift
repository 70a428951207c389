import AerieCore
import Crypto
import Foundation

/// The installed models under a data directory: `<data>/models/<name>/`, one directory per model,
/// each with the files of its ``ModelSpec`` and a `.aerie-model.json` manifest written last.
///
/// It is also the one place that finds ONNX Runtime: ``onnxRuntimeLibrary()``.
public struct ModelStore: Sendable {
    /// What `aerie models list` shows for one installed model.
    public struct InstalledModel: Sendable, Hashable, Codable {
        public var name: String
        public var displayName: String
        public var package: String
        public var version: String
        /// Where the files came from: `<package>==<version> (wheel|sdist)`, or the directory a
        /// registration links to.
        public var source: String
        /// The total size of the model's files in bytes.
        public var size: Int64
        public var directory: URL
    }

    /// The `.aerie-model.json` file in each model's directory, written last: a directory without it is an
    /// unfinished install and is not listed.
    public struct Manifest: Sendable, Hashable, Codable {
        public var name: String
        public var displayName: String
        public var package: String
        public var version: String
        /// Where the files came from (absent in manifests written before it was recorded).
        public var source: String?
        /// The model's files, relative to its directory.
        public var files: [String]

        public init(name: String, displayName: String, package: String, version: String, source: String?, files: [String]) {
            self.name = name
            self.displayName = displayName
            self.package = package
            self.version = version
            self.source = source
            self.files = files
        }
    }

    /// `<data>/models`.
    public let root: URL

    public init(root: URL) {
        self.root = root
    }

    /// The store of the data directory `data` (the `--data` option).
    public init(dataDirectory data: URL) {
        self.init(root: data.appendingPathComponent("models", isDirectory: true))
    }

    public static let manifestName = ".aerie-model.json"

    /// Where `name` is (or would be) installed.
    public func directory(for name: String) -> URL {
        root.appendingPathComponent(name, isDirectory: true)
    }

    /// The ONNX Runtime shared library installed by `aerie models install onnxruntime`: the one place that
    /// knows where it is, for every `dlopen` of it (the embedder, the diffusion pipeline, the CLI, the
    /// benchmarks). Throws `not-found` naming the command to run when it is not installed.
    public func onnxRuntimeLibrary() throws -> URL {
        let directory = directory(for: ModelSpec.onnxruntime.name)
        let library = directory.appendingPathComponent(ModelSpec.onnxRuntimeLibraryPath)
        guard manifest(in: directory) != nil, FileManager.default.fileExists(atPath: library.path) else {
            throw AerieError.notFound(
                "ONNX Runtime is not installed in \(root.path). "
                    + "Run `aerie models install onnxruntime` with the same --data directory first.")
        }
        return library
    }

    /// Whether `spec` is installed at its version with all its files, downloaded and generated (without
    /// reading them; ``verify(_:)`` checks their checksums).
    public func isInstalled(_ spec: ModelSpec) -> Bool {
        let directory = directory(for: spec.name)
        guard let manifest = manifest(in: directory), manifest.version == spec.version else { return false }
        let paths = spec.archiveFiles.map(\.path) + spec.generated.map(\.path)
        return paths.allSatisfy { FileManager.default.fileExists(atPath: directory.appendingPathComponent($0).path) }
    }

    /// The installed model's directory; throws `not-found` naming the command to run if it is missing.
    /// (Only the downloaded files are required: a generated file's user says what to run when it is missing.)
    public func requireModel(_ spec: ModelSpec) throws -> URL {
        let directory = directory(for: spec.name)
        guard manifest(in: directory) != nil,
            spec.archiveFiles.allSatisfy({ FileManager.default.fileExists(atPath: directory.appendingPathComponent($0.path).path) })
        else {
            throw AerieError.notFound(
                "The model \(spec.name) (\(spec.displayName)) is not installed in \(root.path). "
                    + "Run `aerie models install \(spec.name)` with the same --data directory first.")
        }
        return directory
    }

    /// The installed models, by name.
    public func installed() throws -> [InstalledModel] {
        let entries = (try? FileManager.default.contentsOfDirectory(at: root, includingPropertiesForKeys: nil)) ?? []
        var models: [InstalledModel] = []
        for entry in entries where !entry.lastPathComponent.hasPrefix(".") {
            guard let manifest = manifest(in: entry) else { continue }
            var size: Int64 = 0
            for path in manifest.files {
                let attributes = try? FileManager.default.attributesOfItem(atPath: entry.appendingPathComponent(path).path)
                size += (attributes?[.size] as? NSNumber)?.int64Value ?? 0
            }
            models.append(
                InstalledModel(
                    name: manifest.name, displayName: manifest.displayName, package: manifest.package,
                    version: manifest.version, source: manifest.source ?? "\(manifest.package)==\(manifest.version)",
                    size: size, directory: entry))
        }
        return models.sorted { $0.name < $1.name }
    }

    /// Whether every file of `spec` is installed with its pinned checksum, and every generated file exists.
    public func verify(_ spec: ModelSpec) -> Bool {
        let directory = directory(for: spec.name)
        guard isInstalled(spec) else { return false }
        return spec.archiveFiles.allSatisfy { file in
            (try? Self.sha256(of: directory.appendingPathComponent(file.path))) == file.sha256
        }
    }

    /// The manifest in a model's directory, or nil when there is none (or it cannot be read).
    public func manifest(in directory: URL) -> Manifest? {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent(Self.manifestName)) else { return nil }
        return try? JSONDecoder().decode(Manifest.self, from: data)
    }

    /// Writes `manifest` into `directory` (atomically; the manifest marks the install finished).
    public static func write(_ manifest: Manifest, in directory: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(manifest).write(to: directory.appendingPathComponent(manifestName), options: .atomic)
    }

    /// Lower-case hex SHA-256 of a file, read in chunks.
    public static func sha256(of file: URL) throws -> String {
        let handle = try FileHandle(forReadingFrom: file)
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 4 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
