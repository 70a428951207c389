import AerieCore

/// A dense tensor passed to or returned by an ONNX model: a shape and row-major elements.
public struct ONNXTensor: Sendable, Equatable {
    /// The elements, by element type. Half-precision values are carried as their IEEE 754 bit patterns.
    public enum Elements: Sendable, Equatable {
        case float32([Float])
        case float16([UInt16])
        case int64([Int64])
        case int32([Int32])

        var count: Int {
            switch self {
            case .float32(let values): values.count
            case .float16(let values): values.count
            case .int64(let values): values.count
            case .int32(let values): values.count
            }
        }

        /// `ONNXTensorElementDataType`.
        var onnxType: Int32 {
            switch self {
            case .float32: 1
            case .float16: 10
            case .int64: 7
            case .int32: 6
            }
        }

        var typeName: String {
            switch self {
            case .float32: "float32"
            case .float16: "float16"
            case .int64: "int64"
            case .int32: "int32"
            }
        }
    }

    public var shape: [Int]
    public var elements: Elements

    /// A tensor; throws when the shape does not hold exactly the elements given.
    public init(shape: [Int], elements: Elements) throws {
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == elements.count else {
            throw AerieError.invalid("A tensor of shape \(shape) needs \(shape.reduce(1, *)) elements, not \(elements.count).")
        }
        self.shape = shape
        self.elements = elements
    }

    public init(shape: [Int], float32 values: [Float]) throws {
        try self.init(shape: shape, elements: .float32(values))
    }

    public init(shape: [Int], int64 values: [Int64]) throws {
        try self.init(shape: shape, elements: .int64(values))
    }

    public init(shape: [Int], int32 values: [Int32]) throws {
        try self.init(shape: shape, elements: .int32(values))
    }

    /// An ONNX tensor element type (`ONNXTensorElementDataType`), as a model declares its inputs and outputs.
    public struct ElementType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        public static let float32 = ElementType(rawValue: 1)
        public static let uint8 = ElementType(rawValue: 2)
        public static let int32 = ElementType(rawValue: 6)
        public static let int64 = ElementType(rawValue: 7)
        public static let float16 = ElementType(rawValue: 10)
        public static let float64 = ElementType(rawValue: 11)

        public var description: String {
            switch self {
            case .float32: "float32"
            case .uint8: "uint8"
            case .int32: "int32"
            case .int64: "int64"
            case .float16: "float16"
            case .float64: "float64"
            default: "type \(rawValue)"
            }
        }
    }

    /// The elements as `Float` (converting half precision); `nil` for integer tensors.
    public var floats: [Float]? {
        switch elements {
        case .float32(let values): values
        case .float16(let values): values.map { Float(Float16(bitPattern: $0)) }
        case .int64, .int32: nil
        }
    }
}
