/// Named numeric arrays stored as little-endian binary, plus named scalars.
///
/// Models put their large arrays (tree nodes, weights, support vectors) here so the model file
/// holds them compactly instead of as JSON text.
public struct ArrayArchive: Sendable, Equatable {
    /// Element encodings.
    public enum ElementType: String, Sendable, Codable {
        case f64, f32, i32
        var size: Int { self == .f64 ? 8 : 4 }
    }

    /// Where an array lies in the binary section.
    public struct Entry: Sendable, Codable, Equatable {
        public var name: String
        public var type: ElementType
        public var count: Int
        public var offset: Int
    }

    public private(set) var entries: [String: Entry] = [:]
    public private(set) var bytes: [UInt8] = []
    public var scalars: [String: Double] = [:]

    public init() {}

    init(entries: [Entry], bytes: [UInt8], scalars: [String: Double]) throws {
        for e in entries {
            guard e.offset >= 0, e.count >= 0, e.offset + e.count * e.type.size <= bytes.count else {
                throw MLError(.modelFile, "model file is truncated or corrupt (array '\(e.name)' lies outside the file); retrain or copy the file again")
            }
            self.entries[e.name] = e
        }
        self.bytes = bytes
        self.scalars = scalars
    }

    private mutating func align() {
        while bytes.count % 8 != 0 { bytes.append(0) }
    }

    private mutating func append(_ v: UInt64, size: Int) {
        for b in 0..<size { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(b)))) }
    }

    /// Stores doubles at full precision (`f64`) or as 32-bit floats (`f32`).
    public mutating func put(_ name: String, _ values: [Double], as type: ElementType = .f64) {
        align()
        entries[name] = Entry(name: name, type: type, count: values.count, offset: bytes.count)
        bytes.reserveCapacity(bytes.count + values.count * type.size)
        for v in values {
            if type == .f32 {
                append(UInt64(Float(v).bitPattern), size: 4)
            } else {
                append(v.bitPattern, size: 8)
            }
        }
    }

    public mutating func put(_ name: String, _ values: [Int32]) {
        align()
        entries[name] = Entry(name: name, type: .i32, count: values.count, offset: bytes.count)
        for v in values { append(UInt64(UInt32(bitPattern: v)), size: 4) }
    }

    private func entry(_ name: String) throws -> Entry {
        guard let e = entries[name] else {
            throw MLError(.modelFile, "model file lacks array '\(name)'; it is corrupt or from an incompatible build, retrain it")
        }
        return e
    }

    private func word(at offset: Int, size: Int) -> UInt64 {
        var v: UInt64 = 0
        for b in 0..<size { v |= UInt64(bytes[offset + b]) << (8 * UInt64(b)) }
        return v
    }

    public func doubles(_ name: String) throws -> [Double] {
        let e = try entry(name)
        switch e.type {
        case .f64: return (0..<e.count).map { Double(bitPattern: word(at: e.offset + 8 * $0, size: 8)) }
        case .f32: return (0..<e.count).map { Double(Float(bitPattern: UInt32(word(at: e.offset + 4 * $0, size: 4)))) }
        case .i32: return (0..<e.count).map { Double(Int32(bitPattern: UInt32(word(at: e.offset + 4 * $0, size: 4)))) }
        }
    }

    public func ints(_ name: String) throws -> [Int32] {
        let e = try entry(name)
        guard e.type == .i32 else {
            throw MLError(.modelFile, "model file array '\(name)' has type \(e.type.rawValue), expected i32; retrain the model")
        }
        return (0..<e.count).map { Int32(bitPattern: UInt32(word(at: e.offset + 4 * $0, size: 4))) }
    }

    public func scalar(_ name: String) throws -> Double {
        guard let v = scalars[name] else {
            throw MLError(.modelFile, "model file lacks value '\(name)'; it is corrupt or from an incompatible build, retrain it")
        }
        return v
    }
}
