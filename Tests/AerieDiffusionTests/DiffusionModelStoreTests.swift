import AerieCore
import AerieDiffusion
import AerieModels
import Foundation
import Testing

@Suite("Diffusion model registration")
struct DiffusionModelStoreTests {
    @Test func useRegistersTheDirectoryAndModelsListShowsIt() throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-models-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let store = DiffusionModelStore(dataDirectory: data)
        let missing = #expect(throws: AerieError.self) { try store.pipelineDirectory() }
        #expect(missing?.message.contains("aerie models use imagine") == true)

        let tiny = try DiffusionFixtures.tinyModel()
        try store.use(tiny)
        let pipeline = try store.pipelineDirectory()
        #expect(pipeline.resolvingSymlinksInPath().path == tiny.resolvingSymlinksInPath().path)
        let listed = try ModelStore(dataDirectory: data).installed()
        #expect(listed.map(\.name) == ["imagine"])
        #expect((listed.first?.size ?? 0) > 1_000_000)
        // Registering again replaces the earlier registration.
        try store.use(tiny)
        #expect(try ModelStore(dataDirectory: data).installed().count == 1)
    }

    @Test func useRejectsWhatIsNotAPipeline() throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-models-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let store = DiffusionModelStore(dataDirectory: data)
        let error = #expect(throws: AerieError.self) { try store.use(data) }
        #expect(error?.code == .notFound || error?.code == .invalidArgument)
        #expect(throws: AerieError.self) { try store.use(DiffusionFixtures.tinyModel(), name: "../evil") }
    }

    @Test func useNeverDeletesAModelPlacedByHand() throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-models-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let store = DiffusionModelStore(dataDirectory: data)
        let byHand = store.root.appendingPathComponent("imagine", isDirectory: true)
        try FileManager.default.createDirectory(at: byHand, withIntermediateDirectories: true)
        // A copy of the tiny pipeline put straight into <data>/models/imagine.
        let copy = byHand.appendingPathComponent("sd")
        try FileManager.default.copyItem(at: DiffusionFixtures.tinyModel(), to: copy)
        let inside = #expect(throws: AerieError.self) { try store.use(copy) }
        #expect(inside?.code == .invalidArgument)
        let conflict = #expect(throws: AerieError.self) { try store.use(DiffusionFixtures.tinyModel()) }
        #expect(conflict?.code == .conflict)
        #expect(FileManager.default.fileExists(atPath: copy.appendingPathComponent("model_index.json").path))
    }
}
