import AerieCore
import AerieONNX
import AerieTesting
import Foundation
import Testing

/// The ONNX Runtime library from the pinned wheel, installed once into the repository's `aerie-data`
/// (or `$AERIE_DATA`) like `aerie models install onnxruntime` does.
enum InstalledRuntime {
    static var dataDirectory: URL { RepositoryPaths.dataDirectory }

    private static let loaded: Result<ONNXRuntime, any Error> = Result {
        try ONNXRuntime(libraryPath: SharedModels.onnxRuntimeLibrary().path)
    }

    static func runtime() throws -> ONNXRuntime { try loaded.get() }

    static func fixture(_ name: String) throws -> String {
        guard let url = Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil) else {
            throw CocoaError(.fileNoSuchFile)
        }
        return url.path
    }
}

@Suite("ONNX Runtime sessions")
struct ONNXSessionTests {
    struct Expected: Decodable {
        struct MLP: Decodable {
            var x: [Float]
            var x_shape: [Int]
            var y: [Float]
        }
        struct Conv: Decodable {
            var image: [Float]
            var features: [Float]
        }
        struct Types: Decodable {
            var half_bits: [UInt16]
            var ids: [Int64]
            var half_doubled_bits: [UInt16]
            var ids_doubled: [Int64]
        }
        var onnxruntime: String
        var mlp: MLP
        var conv: Conv
        var types: Types
    }

    static func expected() throws -> Expected {
        try JSONDecoder().decode(Expected.self, from: Data(contentsOf: URL(fileURLWithPath: InstalledRuntime.fixture("expected.json"))))
    }

    static func close(_ a: [Float], _ b: [Float]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) }
    }

    @Test func mlpMatchesOnnxRuntimePython() throws {
        let runtime = try InstalledRuntime.runtime()
        let expected = try Self.expected()
        #expect(runtime.version == expected.onnxruntime)
        let session = try ONNXSession(runtime: runtime, modelPath: InstalledRuntime.fixture("mlp.onnx"))
        #expect(session.inputNames == ["x"])
        #expect(session.outputNames == ["y"])
        let outputs = try session.run(["x": ONNXTensor(shape: expected.mlp.x_shape, float32: expected.mlp.x)])
        let y = try #require(outputs["y"])
        #expect(y.shape == [5, 3])
        #expect(Self.close(try #require(y.floats), expected.mlp.y))
        // The batch dimension is symbolic: one row works too.
        let one = try session.run(["x": ONNXTensor(shape: [1, 4], float32: Array(expected.mlp.x.prefix(4)))])
        #expect(Self.close(try #require(one["y"]?.floats), Array(expected.mlp.y.prefix(3))))
    }

    /// The profiler writes a trace only when asked: none appears in the working directory (where ONNX Runtime
    /// puts `onnxruntime_profile__*.json` by default) for a default session, one appears under a given prefix.
    @Test func profilingIsOffUnlessAskedFor() throws {
        let runtime = try InstalledRuntime.runtime()
        let expected = try Self.expected()
        let input = ["x": try ONNXTensor(shape: expected.mlp.x_shape, float32: expected.mlp.x)]
        let manager = FileManager.default
        func traces(in directory: String) -> Set<String> {
            Set(((try? manager.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasPrefix("onnxruntime_profile") || $0.hasPrefix("trace") })
        }
        let workingDirectory = manager.currentDirectoryPath
        let before = traces(in: workingDirectory)
        do {
            let session = try ONNXSession(runtime: runtime, modelPath: InstalledRuntime.fixture("mlp.onnx"))
            _ = try session.run(input)
        }
        #expect(traces(in: workingDirectory) == before)

        let directory = manager.temporaryDirectory.appendingPathComponent("aerie-profile-\(UUID().uuidString)")
        try manager.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? manager.removeItem(at: directory) }
        do {
            let options = ONNXSession.Options(profileFilePrefix: directory.appendingPathComponent("trace").path)
            let session = try ONNXSession(runtime: runtime, modelPath: InstalledRuntime.fixture("mlp.onnx"), options: options)
            _ = try session.run(input)
        }
        let written = traces(in: directory.path)
        #expect(written.count == 1)
        #expect(written.first?.hasSuffix(".json") == true)
    }

    @Test(arguments: [
        ONNXSession.Options(),
        ONNXSession.Options(intraOpThreads: 1, interOpThreads: 1, graphOptimization: .disabled),
        ONNXSession.Options(intraOpThreads: 2, graphOptimization: .basic),
    ])
    func convolutionMatchesOnnxRuntimePython(options: ONNXSession.Options) throws {
        let expected = try Self.expected()
        let session = try ONNXSession(runtime: InstalledRuntime.runtime(), modelPath: InstalledRuntime.fixture("conv.onnx"), options: options)
        let outputs = try session.run(["image": ONNXTensor(shape: [1, 2, 6, 6], float32: expected.conv.image)], outputs: ["features"])
        #expect(outputs["features"]?.shape == [1, 3])
        #expect(Self.close(try #require(outputs["features"]?.floats), expected.conv.features))
    }

    @Test func float16AndInt64Tensors() throws {
        let expected = try Self.expected()
        let session = try ONNXSession(runtime: InstalledRuntime.runtime(), modelPath: InstalledRuntime.fixture("types.onnx"))
        #expect(Set(session.inputNames) == ["half", "ids"])
        let outputs = try session.run([
            "half": ONNXTensor(shape: [3], elements: .float16(expected.types.half_bits)),
            "ids": ONNXTensor(shape: [3], int64: expected.types.ids),
        ])
        #expect(outputs["half_doubled"]?.elements == .float16(expected.types.half_doubled_bits))
        #expect(outputs["half_doubled"]?.floats == [1, -2.5, 6])
        #expect(outputs["ids_doubled"]?.elements == .int64(expected.types.ids_doubled))
        // Only the outputs asked for come back.
        let only = try session.run(
            ["half": ONNXTensor(shape: [3], elements: .float16(expected.types.half_bits)), "ids": ONNXTensor(shape: [3], int64: expected.types.ids)],
            outputs: ["ids_doubled"])
        #expect(Array(only.keys) == ["ids_doubled"])
    }

    @Test func wrongInputNameShapeOrTypeIsAnError() throws {
        let session = try ONNXSession(runtime: InstalledRuntime.runtime(), modelPath: InstalledRuntime.fixture("mlp.onnx"))
        let wrongName = #expect(throws: AerieError.self) {
            try session.run(["input": ONNXTensor(shape: [1, 4], float32: [1, 2, 3, 4])])
        }
        #expect(wrongName?.code == .invalidArgument)
        #expect(wrongName?.message.contains("x") == true)
        let wrongShape = #expect(throws: AerieError.self) {
            try session.run(["x": ONNXTensor(shape: [2, 5], float32: [Float](repeating: 1, count: 10))])
        }
        #expect(wrongShape?.message.contains("ONNX Runtime failed running the model") == true)
        #expect(throws: AerieError.self) {
            try session.run(["x": ONNXTensor(shape: [1, 4], int64: [1, 2, 3, 4])])
        }
        #expect(throws: AerieError.self) { try session.run(["x": ONNXTensor(shape: [1, 4], float32: [1, 2, 3, 4])], outputs: ["nope"]) }
        #expect(throws: AerieError.self) { try ONNXTensor(shape: [2, 2], float32: [1, 2, 3]) }
    }

    @Test func missingOrBrokenFilesAreErrors() throws {
        let runtime = try InstalledRuntime.runtime()
        let missing = #expect(throws: AerieError.self) { try ONNXSession(runtime: runtime, modelPath: "/nonexistent/model.onnx") }
        #expect(missing?.code == .notFound)
        let garbage = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-\(UUID().uuidString).onnx")
        try Data("not a model".utf8).write(to: garbage)
        defer { try? FileManager.default.removeItem(at: garbage) }
        let broken = #expect(throws: AerieError.self) { try ONNXSession(runtime: runtime, modelPath: garbage.path) }
        #expect(broken?.message.contains("ONNX Runtime failed loading") == true)
        let noLibrary = #expect(throws: AerieError.self) { try ONNXRuntime(libraryPath: "/nonexistent/libonnxruntime.so") }
        #expect(noLibrary?.message.contains("aerie models install onnxruntime") == true)
        let notALibrary = #expect(throws: AerieError.self) { try ONNXRuntime(libraryPath: garbage.path) }
        #expect(notALibrary?.code == .unavailable)
    }
}
