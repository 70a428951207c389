import AerieCore
import Foundation

/// The on-disk form of a ``VectorIndex``: `vectors.snapshot` (the whole index at one generation, written
/// to a temporary file, synced and renamed into place) and `vectors.log` (the changes since, appended as
/// length-prefixed, checksummed records).
///
/// At start the snapshot is loaded and the log replayed if it belongs to the same generation; a log from
/// an older generation (a crash after a new snapshot but before the log was reset) is already contained in
/// the snapshot and is discarded. A torn record at the end of the log (a crash mid-append) is cut off.
struct VectorFiles {
    enum Operation: Equatable {
        case upsert(id: String, vector: [Float], metadata: [String: KeyValue])
        case remove(id: String)
    }

    struct Snapshot {
        var generation: UInt64
        var entries: [(id: String, vector: [Float], metadata: [String: KeyValue])]
        /// Read from a version-1 file: write a new snapshot before appending to the log.
        var legacy = false
    }

    let directory: URL
    let dimensions: Int
    let metric: VectorMetric
    /// fsync after every appended record (power-loss safe) rather than leaving it to the OS.
    let syncEveryWrite: Bool

    var snapshotURL: URL { directory.appendingPathComponent("vectors.snapshot") }
    var logURL: URL { directory.appendingPathComponent("vectors.log") }

    /// Version 2 tags metadata values as strings or numbers; version 1 files (string values) are still read,
    /// and rewritten as version 2 at the next snapshot.
    static let snapshotMagic: [UInt8] = Array("AVS2".utf8)
    static let logMagic: [UInt8] = Array("AVL2".utf8)
    static let snapshotMagicV1: [UInt8] = Array("AVS1".utf8)
    static let logMagicV1: [UInt8] = Array("AVL1".utf8)
    static let logHeaderSize = 4 + 8 + 4

    // MARK: Snapshot

    func readSnapshot() throws -> Snapshot {
        guard let data = try? Data(contentsOf: snapshotURL) else { return Snapshot(generation: 0, entries: []) }
        var reader = ByteReader(Array(data))
        func corrupt(_ why: String) -> AerieError {
            AerieError(.internal, "\(snapshotURL.path) is damaged (\(why)); restore it from a backup or delete the directory to start empty.")
        }
        guard data.count >= 8, let magic = reader.bytes(4), magic == Self.snapshotMagic || magic == Self.snapshotMagicV1 else {
            throw corrupt("bad magic")
        }
        reader.typedMetadata = magic == Self.snapshotMagic
        let body = Array(data.dropLast(8))
        var tail = ByteReader(Array(data.suffix(8)))
        guard tail.uint64() == Self.checksum(body) else { throw corrupt("checksum mismatch") }
        guard let generation = reader.uint64(), let dimensions = reader.uint32(), let metricByte = reader.uint8(),
            let count = reader.uint64()
        else { throw corrupt("short header") }
        try checkShape(dimensions: Int(dimensions), metric: metricByte, file: snapshotURL)
        var entries: [(id: String, vector: [Float], metadata: [String: KeyValue])] = []
        entries.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let id = reader.string(), let metadata = reader.metadata(), let vector = reader.floats(self.dimensions) else {
                throw corrupt("short entry")
            }
            entries.append((id, vector, metadata))
        }
        return Snapshot(generation: generation, entries: entries, legacy: magic == Self.snapshotMagicV1)
    }

    /// Writes the snapshot atomically, then starts an empty log of the same generation.
    func writeSnapshot(_ snapshot: Snapshot) throws {
        var writer = ByteWriter()
        writer.bytes(Self.snapshotMagic)
        writer.uint64(snapshot.generation)
        writer.uint32(UInt32(dimensions))
        writer.uint8(Self.metricByte(metric))
        writer.uint64(UInt64(snapshot.entries.count))
        for entry in snapshot.entries {
            writer.string(entry.id)
            writer.metadata(entry.metadata)
            writer.floats(entry.vector)
        }
        writer.uint64(Self.checksum(writer.buffer))
        try Self.writeAtomically(Data(writer.buffer), to: snapshotURL)
        try Self.writeAtomically(Data(logHeader(generation: snapshot.generation)), to: logURL)
    }

    // MARK: Log

    func logHeader(generation: UInt64) -> [UInt8] {
        var writer = ByteWriter()
        writer.bytes(Self.logMagic)
        writer.uint64(generation)
        writer.uint32(UInt32(dimensions))
        return writer.buffer
    }

    /// The operations logged for `generation`; resets the log when it is missing, from another
    /// generation, or ends in a torn record. `legacy` says the log is version 1: write a new snapshot
    /// before appending to it.
    func replayLog(generation: UInt64) throws -> (operations: [Operation], legacy: Bool) {
        guard let data = try? Data(contentsOf: logURL), data.count >= Self.logHeaderSize else {
            try Self.writeAtomically(Data(logHeader(generation: generation)), to: logURL)
            return ([], false)
        }
        var reader = ByteReader(Array(data))
        let magic = reader.bytes(4)
        guard magic == Self.logMagic || magic == Self.logMagicV1, let logGeneration = reader.uint64(), let logDimensions = reader.uint32() else {
            throw AerieError(.internal, "\(logURL.path) is not a vector log; move it away to start from the snapshot alone.")
        }
        guard Int(logDimensions) == dimensions else {
            throw AerieError.invalid("\(logURL.path) holds \(logDimensions)-dimensional vectors, the index is configured for \(dimensions).")
        }
        guard logGeneration == generation else {
            // Older than the snapshot: its changes are in the snapshot already.
            try Self.writeAtomically(Data(logHeader(generation: generation)), to: logURL)
            return ([], false)
        }
        var operations: [Operation] = []
        var goodEnd = reader.offset
        while let length = reader.uint32(), let sum = reader.uint64(), let payload = reader.bytes(Int(length)),
            Self.checksum(payload) == sum
        {
            var record = ByteReader(payload)
            record.typedMetadata = magic == Self.logMagic
            guard let operation = decode(&record) else { break }
            operations.append(operation)
            goodEnd = reader.offset
        }
        if goodEnd < data.count {
            let handle = try FileHandle(forWritingTo: logURL)
            try handle.truncate(atOffset: UInt64(goodEnd))
            try handle.close()
        }
        return (operations, magic == Self.logMagicV1)
    }

    /// Appends records to the log (one write; synced if configured).
    func append(_ operations: [Operation]) throws {
        var writer = ByteWriter()
        for operation in operations {
            var record = ByteWriter()
            switch operation {
            case .upsert(let id, let vector, let metadata):
                record.uint8(1)
                record.string(id)
                record.metadata(metadata)
                record.floats(vector)
            case .remove(let id):
                record.uint8(2)
                record.string(id)
            }
            writer.uint32(UInt32(record.buffer.count))
            writer.uint64(Self.checksum(record.buffer))
            writer.bytes(record.buffer)
        }
        let handle = try FileHandle(forWritingTo: logURL)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: writer.buffer)
        if syncEveryWrite { try handle.synchronize() }
    }

    func logSize() -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: logURL.path))?[.size] as? NSNumber)?.intValue ?? 0
    }

    private func decode(_ reader: inout ByteReader) -> Operation? {
        switch reader.uint8() {
        case 1:
            guard let id = reader.string(), let metadata = reader.metadata(), let vector = reader.floats(dimensions) else { return nil }
            return .upsert(id: id, vector: vector, metadata: metadata)
        case 2:
            return reader.string().map { .remove(id: $0) }
        default:
            return nil
        }
    }

    private func checkShape(dimensions: Int, metric: UInt8, file: URL) throws {
        guard dimensions == self.dimensions, metric == Self.metricByte(self.metric) else {
            throw AerieError.invalid(
                "\(file.path) holds a \(dimensions)-dimensional index with another metric or size than configured "
                    + "(\(self.dimensions), \(self.metric.rawValue)); open it with its own settings or use another directory.")
        }
    }

    static func metricByte(_ metric: VectorMetric) -> UInt8 {
        switch metric {
        case .cosine: 1
        case .innerProduct: 2
        }
    }

    /// FNV-1a, 64 bits: detects torn and damaged records (not an adversary).
    static func checksum(_ bytes: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }

    static func writeAtomically(_ data: Data, to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
            throw AerieError(.unavailable, "Cannot create \(temporary.path); check that the directory exists and is writable.")
        }
        do {
            let handle = try FileHandle(forWritingTo: temporary)
            try handle.write(contentsOf: data)
            try handle.synchronize()
            try handle.close()
            if rename(temporary.path, url.path) != 0 {
                throw AerieError(.unavailable, "Cannot rename \(temporary.path) to \(url.path) (errno \(errno)).")
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
        let directory = open(url.deletingLastPathComponent().path, O_RDONLY)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }
}

/// Little-endian binary encoding.
struct ByteWriter {
    var buffer: [UInt8] = []

    mutating func bytes(_ bytes: [UInt8]) { buffer.append(contentsOf: bytes) }
    mutating func uint8(_ value: UInt8) { buffer.append(value) }
    mutating func uint32(_ value: UInt32) { for shift in stride(from: 0, to: 32, by: 8) { buffer.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) } }
    mutating func uint64(_ value: UInt64) { for shift in stride(from: 0, to: 64, by: 8) { buffer.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) } }
    mutating func string(_ value: String) {
        uint32(UInt32(value.utf8.count))
        buffer.append(contentsOf: value.utf8)
    }
    /// Each value is a tag (1 string, 2 number) and the string or the IEEE bits of the number.
    mutating func metadata(_ value: [String: KeyValue]) {
        uint32(UInt32(value.count))
        for key in value.keys.sorted() {
            string(key)
            switch value[key] {
            case .string(let text):
                uint8(1)
                string(text)
            case .number(let number):
                uint8(2)
                uint64(number.bitPattern)
            case nil:
                uint8(1)
                string("")
            }
        }
    }
    mutating func floats(_ values: [Float]) {
        for value in values { uint32(value.bitPattern) }
    }
}

struct ByteReader {
    let buffer: [UInt8]
    var offset = 0
    /// Whether metadata values carry a kind tag (format version 2) or are all strings (version 1).
    var typedMetadata = true

    init(_ buffer: [UInt8]) { self.buffer = buffer }

    mutating func bytes(_ count: Int) -> [UInt8]? {
        guard count >= 0, offset + count <= buffer.count else { return nil }
        defer { offset += count }
        return Array(buffer[offset..<offset + count])
    }
    mutating func uint8() -> UInt8? { bytes(1)?[0] }
    mutating func uint32() -> UInt32? {
        guard let b = bytes(4) else { return nil }
        return b.reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }
    mutating func uint64() -> UInt64? {
        guard let b = bytes(8) else { return nil }
        return b.reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }
    mutating func string() -> String? {
        guard let length = uint32(), let b = bytes(Int(length)) else { return nil }
        return String(validating: b, as: UTF8.self)
    }
    mutating func metadata() -> [String: KeyValue]? {
        guard let count = uint32(), Int(count) <= buffer.count - offset else { return nil }
        var result: [String: KeyValue] = [:]
        for _ in 0..<count {
            guard let key = string() else { return nil }
            guard typedMetadata else {
                guard let value = string() else { return nil }
                result[key] = .string(value)
                continue
            }
            switch uint8() {
            case 1:
                guard let value = string() else { return nil }
                result[key] = .string(value)
            case 2:
                guard let bits = uint64() else { return nil }
                result[key] = .number(Double(bitPattern: bits))
            default:
                return nil
            }
        }
        return result
    }
    mutating func floats(_ count: Int) -> [Float]? {
        guard offset + count * 4 <= buffer.count else { return nil }
        var result = [Float](repeating: 0, count: count)
        for index in 0..<count {
            var bits: UInt32 = 0
            for byte in 0..<4 { bits |= UInt32(buffer[offset + index * 4 + byte]) << UInt32(8 * byte) }
            result[index] = Float(bitPattern: bits)
        }
        offset += count * 4
        return result
    }
}
