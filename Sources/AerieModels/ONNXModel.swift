import Foundation

/// An ONNX model (`ModelProto`) with the subset of the public ONNX schema (`onnx/onnx.proto`) that the
/// graphs Aerie builds at install use: a graph of nodes with int, float and ints attributes, initialisers
/// with raw little-endian data, tensor inputs and outputs with named or fixed dimensions, and operator-set
/// imports. ``serialized()`` writes the protobuf bytes ONNX Runtime loads (see ``ProtobufWriter`` for why
/// no generated protobuf code is used). Field numbers are those of `onnx.proto`.
public struct ONNXModel: Sendable, Hashable {
    /// `TensorProto.DataType`: the element types used here.
    public enum ElementType: Int64, Sendable, Hashable {
        case float = 1
        case int64 = 7
    }

    /// An `OperatorSetIdProto`: an operator domain (empty for the default `ai.onnx`) and its version.
    public struct OperatorSet: Sendable, Hashable {
        public var domain: String
        public var version: Int64

        public init(domain: String = "", version: Int64) {
            self.domain = domain
            self.version = version
        }
    }

    /// A `NodeProto`: one operator application.
    public struct Node: Sendable, Hashable {
        public var opType: String
        public var inputs: [String]
        public var outputs: [String]
        public var name: String
        public var attributes: [Attribute]

        public init(_ opType: String, inputs: [String], outputs: [String], name: String = "", attributes: [Attribute] = []) {
            self.opType = opType
            self.inputs = inputs
            self.outputs = outputs
            self.name = name
            self.attributes = attributes
        }
    }

    /// An `AttributeProto` of one of the kinds used here.
    public struct Attribute: Sendable, Hashable {
        public enum Value: Sendable, Hashable {
            case float(Float)
            case int(Int64)
            case ints([Int64])
        }

        public var name: String
        public var value: Value

        public init(_ name: String, _ value: Value) {
            self.name = name
            self.value = value
        }
    }

    /// A `TensorProto` with its data in `raw_data` (little-endian).
    public struct Tensor: Sendable, Hashable {
        public var name: String
        public var elementType: ElementType
        public var dimensions: [Int64]
        public var rawData: [UInt8]

        public init(name: String, dimensions: [Int], floats: [Float]) {
            precondition(dimensions.reduce(1, *) == floats.count, "\(name): \(floats.count) values for shape \(dimensions)")
            self.name = name
            self.elementType = .float
            self.dimensions = dimensions.map(Int64.init)
            self.rawData = Self.littleEndianBytes(floats.map(\.bitPattern))
        }

        public init(name: String, dimensions: [Int], int64s: [Int64]) {
            precondition(dimensions.reduce(1, *) == int64s.count, "\(name): \(int64s.count) values for shape \(dimensions)")
            self.name = name
            self.elementType = .int64
            self.dimensions = dimensions.map(Int64.init)
            self.rawData = Self.littleEndianBytes(int64s.map { UInt64(bitPattern: $0) })
        }

        static func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
            let little = values.map(\.littleEndian)
            return little.withUnsafeBytes { Array($0) }
        }
    }

    /// A `ValueInfoProto` of a tensor: a graph input or output.
    public struct ValueInfo: Sendable, Hashable {
        /// A `TensorShapeProto.Dimension`: a fixed size or a named, free one.
        public enum Dimension: Sendable, Hashable {
            case value(Int64)
            case parameter(String)
        }

        public var name: String
        public var elementType: ElementType
        public var shape: [Dimension]

        public init(name: String, elementType: ElementType, shape: [Dimension]) {
            self.name = name
            self.elementType = elementType
            self.shape = shape
        }
    }

    /// A `GraphProto`.
    public struct Graph: Sendable, Hashable {
        public var name: String
        public var nodes: [Node]
        public var initializers: [Tensor]
        public var inputs: [ValueInfo]
        public var outputs: [ValueInfo]

        public init(name: String, nodes: [Node], initializers: [Tensor], inputs: [ValueInfo], outputs: [ValueInfo]) {
            self.name = name
            self.nodes = nodes
            self.initializers = initializers
            self.inputs = inputs
            self.outputs = outputs
        }
    }

    public var irVersion: Int64
    public var producerName: String
    public var graph: Graph
    public var operatorSets: [OperatorSet]

    public init(irVersion: Int64, producerName: String = "aerie", graph: Graph, operatorSets: [OperatorSet]) {
        self.irVersion = irVersion
        self.producerName = producerName
        self.graph = graph
        self.operatorSets = operatorSets
    }

    /// The model's protobuf bytes (what `onnx.save` writes to a `.onnx` file).
    public func serialized() -> Data {
        var writer = ProtobufWriter()
        write(to: &writer)
        return Data(writer.bytes)
    }

    // ModelProto: ir_version 1, producer_name 2, graph 7, opset_import 8.
    func write(to writer: inout ProtobufWriter) {
        writer.int(1, irVersion)
        writer.string(2, producerName)
        writer.message(7) { graph.write(to: &$0) }
        for set in operatorSets {
            writer.message(8) { set.write(to: &$0) }
        }
    }
}

extension ONNXModel.OperatorSet {
    // OperatorSetIdProto: domain 1, version 2.
    func write(to writer: inout ProtobufWriter) {
        writer.string(1, domain)
        writer.int(2, version)
    }
}

extension ONNXModel.Graph {
    // GraphProto: node 1, name 2, initializer 5, input 11, output 12.
    func write(to writer: inout ProtobufWriter) {
        for node in nodes {
            writer.message(1) { node.write(to: &$0) }
        }
        writer.string(2, name)
        for tensor in initializers {
            writer.message(5) { tensor.write(to: &$0) }
        }
        for input in inputs {
            writer.message(11) { input.write(to: &$0) }
        }
        for output in outputs {
            writer.message(12) { output.write(to: &$0) }
        }
    }
}

extension ONNXModel.Node {
    // NodeProto: input 1, output 2, name 3, op_type 4, attribute 5.
    func write(to writer: inout ProtobufWriter) {
        for input in inputs { writer.string(1, input) }
        for output in outputs { writer.string(2, output) }
        if !name.isEmpty { writer.string(3, name) }
        writer.string(4, opType)
        for attribute in attributes {
            writer.message(5) { attribute.write(to: &$0) }
        }
    }
}

extension ONNXModel.Attribute {
    // AttributeProto: name 1, f 2, i 3, ints 8, type 20 (AttributeType FLOAT 1, INT 2, INTS 7).
    func write(to writer: inout ProtobufWriter) {
        writer.string(1, name)
        switch value {
        case .float(let value):
            writer.float(2, value)
            writer.int(20, 1)
        case .int(let value):
            writer.int(3, value)
            writer.int(20, 2)
        case .ints(let values):
            for value in values { writer.int(8, value) }
            writer.int(20, 7)
        }
    }
}

extension ONNXModel.Tensor {
    // TensorProto: dims 1, data_type 2, name 8, raw_data 9.
    func write(to writer: inout ProtobufWriter) {
        for dimension in dimensions { writer.int(1, dimension) }
        writer.int(2, elementType.rawValue)
        writer.string(8, name)
        writer.data(9, rawData)
    }
}

extension ONNXModel.ValueInfo {
    // ValueInfoProto: name 1, type 2. TypeProto: tensor_type 1. TypeProto.Tensor: elem_type 1, shape 2.
    // TensorShapeProto: dim 1. Dimension: dim_value 1, dim_param 2.
    func write(to writer: inout ProtobufWriter) {
        writer.string(1, name)
        writer.message(2) { type in
            type.message(1) { tensor in
                tensor.int(1, elementType.rawValue)
                tensor.message(2) { shapeWriter in
                    for dimension in shape {
                        shapeWriter.message(1) { dim in
                            switch dimension {
                            case .value(let value): dim.int(1, value)
                            case .parameter(let name): dim.string(2, name)
                            }
                        }
                    }
                }
            }
        }
    }
}
