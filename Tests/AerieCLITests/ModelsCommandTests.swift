import AerieModels
import Foundation
import Testing

@testable import aerie

@Suite("aerie models list")
struct ModelsCommandTests {
    /// A data directory with one model of two files (1 KiB + 1.5 MiB) as the installer leaves it.
    static func dataDirectory() throws -> (data: URL, store: ModelStore) {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-models-cli-\(UUID().uuidString)", isDirectory: true)
        let store = ModelStore(dataDirectory: data)
        let directory = store.directory(for: "weights")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("models"), withIntermediateDirectories: true)
        try Data(count: 1024).write(to: directory.appendingPathComponent("a.bin"))
        try Data(count: 1_572_864).write(to: directory.appendingPathComponent("models/b.bin"))
        try ModelStore.write(
            ModelStore.Manifest(
                name: "weights", displayName: "Test weights", package: "weights", version: "0.3.0",
                source: "weights==0.3.0 (sdist)", files: ["a.bin", "models/b.bin"]),
            in: directory)
        return (data, store)
    }

    @Test func sizesAreHumanReadable() {
        #expect(ModelsCommand.format(bytes: 0) == "0 bytes")
        #expect(ModelsCommand.format(bytes: 1023) == "1023 bytes")
        #expect(ModelsCommand.format(bytes: 1024) == "1.0 KiB")
        #expect(ModelsCommand.format(bytes: 1_573_888) == "1.5 MiB")
        #expect(ModelsCommand.format(bytes: 3 << 30) == "3.0 GiB")
    }

    @Test func theTableShowsNameVersionSourceSizeAndDirectory() throws {
        let (data, store) = try Self.dataDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let lines = ModelsCommand.table(try store.installed()).split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        #expect(lines[0].hasPrefix("NAME"))
        for column in ["weights", "0.3.0", "weights==0.3.0 (sdist)", "1.5 MiB", store.directory(for: "weights").path] {
            #expect(lines[1].contains(column), "\(column) missing from \(lines[1])")
        }
    }

    @Test func jsonListsEveryModelWithItsBytes() throws {
        let (data, store) = try Self.dataDirectory()
        defer { try? FileManager.default.removeItem(at: data) }
        let text = try ModelsCommand.json(try store.installed())
        let listed = try JSONDecoder().decode([ModelsCommand.ListedModel].self, from: Data(text.utf8))
        #expect(
            listed == [
                .init(
                    name: "weights", displayName: "Test weights", package: "weights", version: "0.3.0",
                    source: "weights==0.3.0 (sdist)", directory: store.directory(for: "weights").path,
                    bytes: 1024 + 1_572_864, size: "1.5 MiB")
            ])
        #expect(try JSONDecoder().decode([ModelsCommand.ListedModel].self, from: Data(ModelsCommand.json([]).utf8)).isEmpty)
    }

    @Test func lsIsAnAliasAndJsonAFlag() throws {
        let command = try ModelsCommand.parseAsRoot(["ls", "--json", "--data", "/srv/aerie"])
        let list = try #require(command as? ModelsCommand.List)
        #expect(list.json)
        #expect(list.data.directory.path == "/srv/aerie")
    }
}
