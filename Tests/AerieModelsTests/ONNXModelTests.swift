import AerieTesting
import Foundation
import Testing

@testable import AerieModels

@Suite("ONNX protobuf writer")
struct ONNXModelTests {
    static func bytes(_ write: (inout ProtobufWriter) -> Void) -> [UInt8] {
        var writer = ProtobufWriter()
        write(&writer)
        return writer.bytes
    }

    @Test func varintsAndTags() {
        #expect(Self.bytes { $0.varint(0) } == [0x00])
        #expect(Self.bytes { $0.varint(127) } == [0x7f])
        #expect(Self.bytes { $0.varint(300) } == [0xac, 0x02])
        // A negative int64 is its two's complement in ten bytes.
        #expect(Self.bytes { $0.int(3, -1) } == [0x18] + [UInt8](repeating: 0xff, count: 9) + [0x01])
        // Field 20 (AttributeProto.type) needs a two-byte tag.
        #expect(Self.bytes { $0.int(20, 2) } == [0xa0, 0x01, 0x02])
        #expect(Self.bytes { $0.float(2, 0.5) } == [0x15, 0x00, 0x00, 0x00, 0x3f])
        #expect(Self.bytes { $0.string(1, "ab") } == [0x0a, 0x02, 0x61, 0x62])
    }

    /// The bytes of small ONNX messages, worked out by hand from `onnx.proto`'s field numbers.
    @Test func onnxMessagesHaveTheirWireBytes() {
        let node = ONNXModel.Node("Add", inputs: ["x", "c"], outputs: ["y"])
        #expect(Self.bytes { node.write(to: &$0) } == [0x0a, 0x01, 0x78, 0x0a, 0x01, 0x63, 0x12, 0x01, 0x79, 0x22, 0x03, 0x41, 0x64, 0x64])

        let axis = ONNXModel.Attribute("axis", .int(-1))
        #expect(
            Self.bytes { axis.write(to: &$0) }
                == [0x0a, 0x04, 0x61, 0x78, 0x69, 0x73, 0x18] + [UInt8](repeating: 0xff, count: 9) + [0x01, 0xa0, 0x01, 0x02])
        let epsilon = ONNXModel.Attribute("e", .float(0.5))
        #expect(Self.bytes { epsilon.write(to: &$0) } == [0x0a, 0x01, 0x65, 0x15, 0x00, 0x00, 0x00, 0x3f, 0xa0, 0x01, 0x01])
        let perm = ONNXModel.Attribute("p", .ints([0, 2]))
        #expect(Self.bytes { perm.write(to: &$0) } == [0x0a, 0x01, 0x70, 0x40, 0x00, 0x40, 0x02, 0xa0, 0x01, 0x07])

        let scalar = ONNXModel.Tensor(name: "k", dimensions: [], int64s: [300])
        #expect(Self.bytes { scalar.write(to: &$0) } == [0x10, 0x07, 0x42, 0x01, 0x6b, 0x4a, 0x08, 0x2c, 0x01, 0, 0, 0, 0, 0, 0])
        let vector = ONNXModel.Tensor(name: "w", dimensions: [2], floats: [1, -2])
        #expect(
            Self.bytes { vector.write(to: &$0) }
                == [0x08, 0x02, 0x10, 0x01, 0x42, 0x01, 0x77, 0x4a, 0x08, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0])

        let input = ONNXModel.ValueInfo(name: "x", elementType: .float, shape: [.parameter("n"), .value(3)])
        #expect(
            Self.bytes { input.write(to: &$0) }
                == [0x0a, 0x01, 0x78, 0x12, 0x0f, 0x0a, 0x0d, 0x08, 0x01, 0x12, 0x09, 0x0a, 0x03, 0x12, 0x01, 0x6e, 0x0a, 0x02, 0x08, 0x03])
    }

    /// y = x + c: the whole model, to the byte.
    static let tinyModel = ONNXModel(
        irVersion: 8,
        graph: ONNXModel.Graph(
            name: "g", nodes: [ONNXModel.Node("Add", inputs: ["x", "c"], outputs: ["y"])],
            initializers: [ONNXModel.Tensor(name: "c", dimensions: [1], floats: [1])],
            inputs: [ONNXModel.ValueInfo(name: "x", elementType: .float, shape: [.value(1)])],
            outputs: [ONNXModel.ValueInfo(name: "y", elementType: .float, shape: [.value(1)])]),
        operatorSets: [.init(version: 17)])

    @Test func aModelIsItsFieldsInOrder() {
        let node: [UInt8] = [0x0a, 0x0e, 0x0a, 0x01, 0x78, 0x0a, 0x01, 0x63, 0x12, 0x01, 0x79, 0x22, 0x03, 0x41, 0x64, 0x64]
        let initializer: [UInt8] = [0x2a, 0x0d, 0x08, 0x01, 0x10, 0x01, 0x42, 0x01, 0x63, 0x4a, 0x04, 0x00, 0x00, 0x80, 0x3f]
        // ValueInfoProto {name, type {tensor_type {elem_type 1, shape {dim {dim_value 1}}}}} as graph field 11 / 12.
        let input: [UInt8] = [0x5a, 0x0f, 0x0a, 0x01, 0x78, 0x12, 0x0a, 0x0a, 0x08, 0x08, 0x01, 0x12, 0x04, 0x0a, 0x02, 0x08, 0x01]
        let output: [UInt8] = [0x62, 0x0f, 0x0a, 0x01, 0x79, 0x12, 0x0a, 0x0a, 0x08, 0x08, 0x01, 0x12, 0x04, 0x0a, 0x02, 0x08, 0x01]
        let graph = node + [0x12, 0x01, 0x67] + initializer + input + output
        let expected: [UInt8] =
            [0x08, 0x08, 0x12, 0x05, 0x61, 0x65, 0x72, 0x69, 0x65, 0x3a, UInt8(graph.count)] + graph
            + [0x42, 0x04, 0x0a, 0x00, 0x10, 0x11]
        #expect(Array(Self.tinyModel.serialized()) == expected)
    }
}
