import AerieModels
import Foundation
import Testing

@Suite("safetensors reader")
struct SafetensorsFileTests {
    func write(header: String, payload: [UInt8], padHeaderTo: Int? = nil) throws -> URL {
        var headerBytes = Array(header.utf8)
        if let padHeaderTo { headerBytes += [UInt8](repeating: 0x20, count: padHeaderTo - headerBytes.count) }
        var bytes: [UInt8] = []
        var length = UInt64(headerBytes.count)
        for _ in 0..<8 {
            bytes.append(UInt8(length & 0xff))
            length >>= 8
        }
        bytes += headerBytes + payload
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-\(UUID().uuidString).safetensors")
        try Data(bytes).write(to: url)
        return url
    }

    func floatBytes(_ values: [Float]) -> [UInt8] {
        values.flatMap { value -> [UInt8] in
            let bits = value.bitPattern
            return [UInt8(bits & 0xff), UInt8(bits >> 8 & 0xff), UInt8(bits >> 16 & 0xff), UInt8(bits >> 24)]
        }
    }

    @Test func readsFloatTensors() throws {
        let header = #"{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[3],"data_offsets":[16,28]}}"#
        let url = try write(header: header, payload: floatBytes([1, 2, 3, 4, -0.5, 0.25, 1e-12]), padHeaderTo: 160)
        defer { try? FileManager.default.removeItem(at: url) }
        let file = try SafetensorsFile(url: url)
        #expect(file.tensors.count == 2)
        #expect(try file.floats("a", shape: [2, 2]) == [1, 2, 3, 4])
        #expect(try file.floats("b") == [-0.5, 0.25, 1e-12])
        #expect(throws: (any Error).self) { try file.floats("a", shape: [4]) }
        #expect(throws: (any Error).self) { try file.floats("missing") }
    }

    @Test func refusesCorruptFiles() throws {
        let pastEnd = try write(header: #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, payload: [0, 0, 0, 0])
        let notJSON = try write(header: "not json", payload: [])
        let otherType = try write(header: #"{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#, payload: [UInt8](repeating: 0, count: 8))
        defer { for url in [pastEnd, notJSON, otherType] { try? FileManager.default.removeItem(at: url) } }
        #expect(throws: (any Error).self) { try SafetensorsFile(url: pastEnd) }
        #expect(throws: (any Error).self) { try SafetensorsFile(url: notJSON) }
        #expect(throws: (any Error).self) { try SafetensorsFile(url: otherType).floats("a") }
        #expect(throws: (any Error).self) {
            try SafetensorsFile(url: URL(fileURLWithPath: "/nonexistent/model.safetensors"))
        }
    }
}
