import AerieCore
import Foundation
import Testing

@testable import AerieModels

/// ``TorchLegacyFile`` and its ``PickleReader`` on `Fixtures/tiny-legacy.pth`, written by
/// scripts/make-torch-legacy-fixture.py in torch's legacy layout (Python's pickle, no torch).
@Suite("Legacy torch checkpoints")
struct TorchLegacyFileTests {
    static func fixture() throws -> URL {
        try #require(Bundle.module.url(forResource: "Fixtures/tiny-legacy.pth", withExtension: nil))
    }

    @Test func readsTheStateDictInOrder() throws {
        let file = try TorchLegacyFile(url: Self.fixture())
        #expect(file.names == ["linear.weight", "linear.weight_t", "conv.weight", "conv.bias", "bn.num_batches_tracked"])
        #expect(file.tensors["linear.weight"]?.shape == [3, 4])
        #expect(file.tensors["conv.weight"]?.strides == [1, 2, 6, 6])
        #expect(file.tensors["bn.num_batches_tracked"]?.storageType == "LongStorage")
    }

    @Test func followsStridesAndOffsets() throws {
        let file = try TorchLegacyFile(url: Self.fixture())
        #expect(try file.floats("linear.weight") == (0..<12).map(Float.init))
        // The transposed view of the same storage: element [i, j] is storage[i + 4 j].
        #expect(try file.floats("linear.weight_t") == [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11])
        // A [2, 3, 1, 1] weight with strides [1, 2, 6, 6], as the EfficientNet file stores its 1×1 convolutions.
        #expect(try file.floats("conv.weight") == [10, 12, 14, 11, 13, 15])
        // A view from element 2 of the same storage.
        #expect(try file.floats("conv.bias") == [12, 13, 14])
    }

    @Test func refusesWhatItCannotRead() throws {
        let file = try TorchLegacyFile(url: Self.fixture())
        let long = #expect(throws: AerieError.self) { try file.floats("bn.num_batches_tracked") }
        #expect(long?.message.contains("LongStorage") == true)
        #expect((#expect(throws: AerieError.self) { try file.floats("missing") })?.code == .notFound)

        let bytes = try Data(contentsOf: Self.fixture())
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("torch-legacy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let truncated = directory.appendingPathComponent("truncated.pth")
        try bytes.prefix(bytes.count - 10).write(to: truncated)
        #expect((#expect(throws: AerieError.self) { try TorchLegacyFile(url: truncated) })?.message.contains("truncated") == true)
        let zip = directory.appendingPathComponent("zip.pth")
        try Data([0x50, 0x4B, 0x03, 0x04] + Array(repeating: 0, count: 40)).write(to: zip)
        #expect(throws: AerieError.self) { try TorchLegacyFile(url: zip) }
    }

    @Test func pickleIntegersAndUnknownOpcodes() throws {
        #expect(PickleReader.integer(littleEndian: [0xFF]) == .int(-1))
        #expect(PickleReader.integer(littleEndian: [0x00, 0x01]) == .int(256))
        #expect(PickleReader.integer(littleEndian: []) == .int(0))
        var reader = PickleReader(bytes: [0x80, 0x02, 0x4B, 0x07, 0x2E])
        #expect(try reader.read() == .int(7))
        #expect(reader.offset == 5)
        // FLOAT (`G`) is not an opcode torch's legacy checkpoints use.
        var unknown = PickleReader(bytes: [0x80, 0x02, 0x47])
        let error = #expect(throws: AerieError.self) { try unknown.read() }
        #expect(error?.message.contains("0x47") == true)
    }
}
