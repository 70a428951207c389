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

    /// What a snapshot's header says; its entries are streamed to the caller.
    struct SnapshotHeader {
        var generation: UInt64
        var count: Int
        /// Read from a version-1 file: write a new snapshot before appending to the log.
        var legacy = false
    }

    /// One entry handed to ``writeSnapshot(generation:count:entry:)``.
    typealias SnapshotEntry = (id: String, vector: UnsafeBufferPointer<Float>, metadata: [String: KeyValue])

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

    /// Checks the snapshot's checksum, then reads it a piece at a time, handing each entry to `visit` in
    /// order. Never holds more than a window of the file, so opening a large index needs no second copy of
    /// its vectors.
    func readSnapshot(_ visit: (String, [Float], [String: KeyValue]) throws -> Void) throws -> SnapshotHeader {
        guard let handle = try? FileHandle(forReadingFrom: snapshotURL) else { return SnapshotHeader(generation: 0, count: 0) }
        defer { try? handle.close() }
        func corrupt(_ why: String) -> AerieError {
            AerieError(.internal, "\(snapshotURL.path) is damaged (\(why)); restore it from a backup or delete the directory to start empty.")
        }
        let size = Int(try handle.seekToEnd())
        guard size >= 8 + 4 + 8 + 4 + 1 + 8 else { throw corrupt("too short") }
        try handle.seek(toOffset: UInt64(size - 8))
        var tail = ByteReader(Array(try handle.read(upToCount: 8) ?? Data()))
        guard let expected = tail.uint64() else { throw corrupt("short checksum") }
        // The whole body is checked before anything is parsed, so a damaged file changes nothing.
        try handle.seek(toOffset: 0)
        var checksum = Self.fnvOffset
        var unread = size - 8
        while unread > 0, let data = try handle.read(upToCount: min(unread, 1 << 20)), !data.isEmpty {
            checksum = Self.checksum([UInt8](data)[...], continuing: checksum)
            unread -= data.count
        }
        guard unread == 0, checksum == expected else { throw corrupt("checksum mismatch") }
        try handle.seek(toOffset: 0)
        var stream = WindowedInput(handle: handle, bodyBytes: size - 8)
        var reader = try stream.reader(atLeast: 4 + 8 + 4 + 1 + 8)
        guard let magic = reader.bytes(4), magic == Self.snapshotMagic || magic == Self.snapshotMagicV1 else {
            throw corrupt("bad magic")
        }
        guard let generation = reader.uint64(), let dimensions = reader.uint32(), let metricByte = reader.uint8(),
            let count = reader.uint64(), count <= UInt64(size)
        else { throw corrupt("short header") }
        try checkShape(dimensions: Int(dimensions), metric: metricByte, file: snapshotURL)
        stream.consumed(upTo: reader.offset)
        let typed = magic == Self.snapshotMagic
        for _ in 0..<count {
            let entry = try stream.next { reader -> (String, [String: KeyValue], [Float])? in
                reader.typedMetadata = typed
                guard let id = reader.string(), let metadata = reader.metadata(), let vector = reader.floats(self.dimensions) else { return nil }
                return (id, metadata, vector)
            }
            guard let (id, metadata, vector) = entry else { throw corrupt("short entry") }
            try visit(id, vector, metadata)
        }
        return SnapshotHeader(generation: generation, count: Int(count), legacy: magic == Self.snapshotMagicV1)
    }

    /// Writes the snapshot of `count` entries (`entry(i)` for each) atomically, streamed to a temporary file
    /// a megabyte at a time, then starts an empty log of the same generation.
    func writeSnapshot(generation: UInt64, count: Int, entry: (Int) -> SnapshotEntry) throws {
        try Self.writeAtomically(to: snapshotURL) { handle in
            var output = ChecksummedOutput(handle: handle)
            output.writer.bytes(Self.snapshotMagic)
            output.writer.uint64(generation)
            output.writer.uint32(UInt32(dimensions))
            output.writer.uint8(Self.metricByte(metric))
            output.writer.uint64(UInt64(count))
            for index in 0..<count {
                let item = entry(index)
                output.writer.string(item.id)
                output.writer.metadata(item.metadata)
                output.writer.floats(item.vector)
                try output.flush(ifOver: 1 << 20)
            }
            try output.flush(ifOver: 0)
            var checksum = ByteWriter()
            checksum.uint64(output.checksum)
            try handle.write(contentsOf: checksum.buffer)
        }
        try Self.writeAtomically(Data(logHeader(generation: generation)), to: logURL)
    }

    // MARK: Log

    func logHeader(generation: UInt64) -> [UInt8] {
        var writer = ByteWriter()
        writer.bytes(Self.logMagic)
        writer.uint64(generation)
        writer.uint32(UInt32(dimensions))
        return writer.buffer
    }

    /// Hands the operations logged for `generation` to `apply` in order, reading the log a window at a
    /// time; resets the log when it is missing or from another generation, and cuts off a torn or damaged
    /// tail (a crash mid-append) after the last good record. Returns whether the log is version 1 (write a
    /// new snapshot before appending to it).
    func replayLog(generation: UInt64, _ apply: (Operation) -> Void) throws -> Bool {
        guard let handle = try? FileHandle(forReadingFrom: logURL), let size = try? Int(handle.seekToEnd()), size >= Self.logHeaderSize
        else {
            try Self.writeAtomically(Data(logHeader(generation: generation)), to: logURL)
            return false
        }
        defer { try? handle.close() }
        try handle.seek(toOffset: 0)
        var stream = WindowedInput(handle: handle, bodyBytes: size)
        var reader = try stream.reader(atLeast: Self.logHeaderSize)
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
            return false
        }
        stream.consumed(upTo: reader.offset)
        var goodEnd = Self.logHeaderSize
        /// A record's framing, or a length that runs past the end of the file (a torn record: no growing).
        enum Frame {
            case record(sum: UInt64, payload: [UInt8])
            case runsPastEnd
        }
        while goodEnd < size {
            let frame = try stream.next { reader -> Frame? in
                guard let length = reader.uint32() else { return nil }
                guard Int(length) <= size - goodEnd - 12 else { return .runsPastEnd }
                guard let sum = reader.uint64(), let payload = reader.bytes(Int(length)) else { return nil }
                return .record(sum: sum, payload: payload)
            }
            guard case .record(let sum, let payload) = frame, Self.checksum(payload) == sum else { break }
            var body = ByteReader(payload)
            body.typedMetadata = magic == Self.logMagic
            guard let operation = decode(&body) else { break }
            apply(operation)
            goodEnd += 12 + payload.count
        }
        if goodEnd < size {
            let writer = try FileHandle(forWritingTo: logURL)
            try writer.truncate(atOffset: UInt64(goodEnd))
            try writer.close()
        }
        return magic == Self.logMagicV1
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
        case .dot: 2
        case .euclidean: 3
        }
    }

    /// FNV-1a, 64 bits: detects torn and damaged records (not an adversary).
    static func checksum(_ bytes: [UInt8]) -> UInt64 {
        checksum(bytes[...], continuing: fnvOffset)
    }

    static let fnvOffset: UInt64 = 0xcbf2_9ce4_8422_2325

    /// FNV-1a continued over `bytes` from `hash` (the running value of the bytes before them).
    static func checksum(_ bytes: ArraySlice<UInt8>, continuing hash: UInt64) -> UInt64 {
        var hash = hash
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }

    static func writeAtomically(_ data: Data, to url: URL) throws {
        try writeAtomically(to: url) { try $0.write(contentsOf: data) }
    }

    /// Has `write` fill a temporary file beside `url`, syncs it and renames it over `url`: a crash leaves
    /// either the old file or the new one, never a mix.
    static func writeAtomically(to url: URL, _ write: (FileHandle) throws -> Void) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
            throw AerieError(.unavailable, "Cannot create \(temporary.path); check that the directory exists and is writable.")
        }
        do {
            let handle = try FileHandle(forWritingTo: temporary)
            defer { try? handle.close() }
            try write(handle)
            try handle.synchronize()
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
        values.withUnsafeBufferPointer { floats($0) }
    }
    mutating func floats(_ values: UnsafeBufferPointer<Float>) {
        #if _endian(little)
        buffer.append(contentsOf: UnsafeRawBufferPointer(values))
        #else
        for value in values { uint32(value.bitPattern) }
        #endif
    }
}

/// A file written through a ``ByteWriter`` that is flushed now and then, with the FNV-1a checksum of
/// everything written.
struct ChecksummedOutput {
    let handle: FileHandle
    var writer = ByteWriter()
    private(set) var checksum = VectorFiles.fnvOffset

    init(handle: FileHandle) { self.handle = handle }

    /// Writes out the buffered bytes once there are more than `limit` of them.
    mutating func flush(ifOver limit: Int) throws {
        guard writer.buffer.count > limit else { return }
        checksum = VectorFiles.checksum(writer.buffer[...], continuing: checksum)
        try handle.write(contentsOf: writer.buffer)
        writer.buffer.removeAll(keepingCapacity: true)
    }
}

/// A file's first `bodyBytes` bytes read a window at a time: hand out a ``ByteReader`` over the unread
/// part of the window, say how far it got, grow the window when an item runs past its end.
struct WindowedInput {
    let handle: FileHandle
    private var remaining: Int
    private var window: [UInt8] = []
    private var start = 0

    init(handle: FileHandle, bodyBytes: Int) {
        self.handle = handle
        remaining = bodyBytes
    }

    /// A reader over the unread bytes, with at least `bytes` of them where the body has that many.
    mutating func reader(atLeast bytes: Int) throws -> ByteReader {
        if window.count - start < bytes, remaining > 0 { try read(bytes) }
        return ByteReader(window, offset: start)
    }

    /// The reader got to `offset` of the window.
    mutating func consumed(upTo offset: Int) { start = offset }

    /// The next item, parsed by `parse` from the unread bytes and consumed. When `parse` fails because the
    /// window ends inside the item, the window grows (twice as much again) and the item is parsed anew;
    /// `nil` when the body ends inside it.
    mutating func next<Item>(_ parse: (inout ByteReader) -> Item?) throws -> Item? {
        var wanted = 64 << 10
        while true {
            var reader = try reader(atLeast: wanted)
            if let item = parse(&reader) {
                start = reader.offset
                return item
            }
            guard remaining > 0 else { return nil }
            wanted = 2 * max(window.count - start, wanted)
        }
    }

    private mutating func read(_ bytes: Int) throws {
        let wanted = min(remaining, max(bytes, 1 << 20))
        guard let data = try handle.read(upToCount: wanted), !data.isEmpty else {
            remaining = 0
            return
        }
        remaining -= data.count
        window = Array(window[start...]) + [UInt8](data)
        start = 0
    }
}

struct ByteReader {
    let buffer: [UInt8]
    var offset = 0
    /// Whether metadata values carry a kind tag (format version 2) or are all strings (version 1).
    var typedMetadata = true

    init(_ buffer: [UInt8], offset: Int = 0) {
        self.buffer = buffer
        self.offset = offset
    }

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
        guard count >= 0, offset + count * 4 <= buffer.count else { return nil }
        let start = offset
        offset += count * 4
        return buffer.withUnsafeBytes { raw in
            (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: start + $0 * 4, as: UInt32.self))) }
        }
    }
}
