import Foundation

/// A writer of the protocol-buffers wire format, for the few messages Aerie writes itself (the ONNX
/// graphs built at install, see ``ONNXModel``).
///
/// Hand-written on purpose: the messages are a small, stable subset of the public `onnx.proto`, and
/// swift-protobuf's code generator would add a dependency whose plugin takes about ten minutes to build
/// here for some hundred lines of output. Only writing is needed, and the wire format is small: varints,
/// fixed 32-bit values and length-delimited bytes (https://protobuf.dev/programming-guides/encoding/).
///
/// Fields are written in the order the caller writes them; ``ONNXModel`` writes them by field number, as
/// protobuf's own serialisers do. Repeated scalars are written unpacked (`onnx.proto` is proto2, where
/// that is the default; parsers accept both).
struct ProtobufWriter {
    enum WireType: UInt8 {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case fixed32 = 5
    }

    private(set) var bytes: [UInt8] = []

    init() {}

    mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    mutating func tag(_ field: Int, _ type: WireType) {
        varint(UInt64(field) << 3 | UInt64(type.rawValue))
    }

    /// An `int64` or `int32` field (a negative value takes ten bytes, as protobuf sign-extends both).
    mutating func int(_ field: Int, _ value: Int64) {
        tag(field, .varint)
        varint(UInt64(bitPattern: value))
    }

    mutating func float(_ field: Int, _ value: Float) {
        tag(field, .fixed32)
        let bits = value.bitPattern.littleEndian
        withUnsafeBytes(of: bits) { bytes.append(contentsOf: $0) }
    }

    mutating func string(_ field: Int, _ value: String) {
        data(field, Array(value.utf8))
    }

    /// A `bytes` field.
    mutating func data(_ field: Int, _ value: [UInt8]) {
        tag(field, .lengthDelimited)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// An embedded message, written by `body` into its own writer and then length-prefixed.
    mutating func message(_ field: Int, _ body: (inout ProtobufWriter) -> Void) {
        var nested = ProtobufWriter()
        body(&nested)
        data(field, nested.bytes)
    }
}
