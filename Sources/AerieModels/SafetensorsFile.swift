import AerieCore
import Foundation

/// A `.safetensors` file: an 8-byte little-endian header length, a JSON header naming each tensor's
/// dtype, shape and byte range, then the raw little-endian tensor bytes.
public struct SafetensorsFile: Sendable {
    /// One tensor's entry in the header.
    public struct TensorInfo: Sendable, Hashable {
        public var dtype: String
        public var shape: [Int]
        /// Byte range relative to the start of the data section.
        public var range: Range<Int>
    }

    public let url: URL
    public let tensors: [String: TensorInfo]
    private let data: Data
    private let dataStart: Int

    /// Reads the file (memory-mapped where the platform allows) and parses its header.
    public init(url: URL) throws {
        self.url = url
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw AerieError.notFound("Cannot read \(url.path): \(error.localizedDescription). Install the model with `aerie models install minilm`.")
        }
        func corrupt(_ why: String) -> AerieError {
            AerieError.invalid("\(url.path) is not a valid safetensors file (\(why)); reinstall the model with `aerie models install minilm --force`.")
        }
        guard data.count >= 8 else { throw corrupt("shorter than its header length") }
        var headerLength: UInt64 = 0
        for index in (0..<8).reversed() {
            headerLength = headerLength << 8 | UInt64(data[data.startIndex + index])
        }
        guard headerLength <= UInt64(data.count - 8) else { throw corrupt("header length \(headerLength) past the end") }
        let headerEnd = 8 + Int(headerLength)
        let header = data[data.startIndex + 8..<data.startIndex + headerEnd]
        guard let json = try? JSONSerialization.jsonObject(with: header) as? [String: Any] else {
            throw corrupt("the header is not a JSON object")
        }
        var tensors: [String: TensorInfo] = [:]
        for (name, value) in json where name != "__metadata__" {
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                let shape = (entry["shape"] as? [NSNumber])?.map(\.intValue),
                let offsets = (entry["data_offsets"] as? [NSNumber])?.map(\.intValue), offsets.count == 2,
                offsets[0] >= 0, offsets[0] <= offsets[1], headerEnd + offsets[1] <= data.count
            else { throw corrupt("bad entry for \(name)") }
            tensors[name] = TensorInfo(dtype: dtype, shape: shape, range: offsets[0]..<offsets[1])
        }
        self.tensors = tensors
        self.data = data
        self.dataStart = headerEnd
    }

    /// The float32 tensor `name` as a flat row-major array, checking its shape when one is given.
    public func floats(_ name: String, shape expected: [Int]? = nil) throws -> [Float] {
        guard let info = tensors[name] else {
            throw AerieError.invalid("\(url.lastPathComponent) has no tensor \(name); is it the right model? Reinstall it with `aerie models install`.")
        }
        guard info.dtype == "F32" else {
            throw AerieError.invalid("\(name) in \(url.lastPathComponent) is \(info.dtype); only F32 weights are supported.")
        }
        if let expected, expected != info.shape {
            throw AerieError.invalid("\(name) in \(url.lastPathComponent) has shape \(info.shape), expected \(expected); the weights do not match the configuration.")
        }
        let count = info.shape.reduce(1, *)
        guard info.range.count == count * 4 else {
            throw AerieError.invalid("\(name) in \(url.lastPathComponent) has \(info.range.count) bytes for \(count) floats.")
        }
        let start = data.startIndex + dataStart + info.range.lowerBound
        var result = [Float](repeating: 0, count: count)
        result.withUnsafeMutableBytes { target in
            _ = data.copyBytes(to: target, from: start..<start + info.range.count)
        }
        // The file is little-endian; so is every platform Aerie runs on, but be exact.
        if UInt32(1).bigEndian == 1 {
            for index in result.indices { result[index] = Float(bitPattern: result[index].bitPattern.byteSwapped) }
        }
        return result
    }
}
