import Foundation

/// An object opened for reading: its metadata, the range served (nil for the whole object) and its bytes as a
/// stream of chunks. What it yields is the object as it was when it was opened; a later put or delete of the same
/// key does not change it.
public struct ObjectStream: Sendable {
    public var info: ObjectInfo
    public var range: ClosedRange<Int64>?
    public var body: ObjectChunks

    public init(info: ObjectInfo, range: ClosedRange<Int64>?, body: ObjectChunks) {
        self.info = info
        self.range = range
        self.body = body
    }

    /// Reads the whole body into memory (for objects known to be small).
    public func collect() async throws -> ObjectData {
        ObjectData(info: info, range: range, body: try await body.collect())
    }
}

/// Reads an object's bytes one chunk at a time, on demand.
public protocol ObjectChunkReader: AnyObject, Sendable {
    /// The next chunk, or nil after the last. Throws when the source cannot be read.
    func next() async throws -> Data?
}

/// An object's bytes as an `AsyncSequence` of chunks, read on demand: each chunk is read when the consumer asks for
/// it, so a consumer that waits (a slow client behind a full socket) holds the reading back, and memory stays at
/// about one chunk however large the object is. A body backed by a reader is meant to be iterated once.
public struct ObjectChunks: AsyncSequence, Sendable {
    public typealias Element = Data

    private enum Source: Sendable {
        case data(Data)
        case reader(any ObjectChunkReader)
    }

    /// The number of bytes the body yields in all.
    public let length: Int64
    private let source: Source

    /// A body already in memory, yielded in slices of at most 1 MiB.
    public init(data: Data) {
        length = Int64(data.count)
        source = .data(data)
    }

    /// A body of `length` bytes that `reader` yields chunk by chunk.
    public init(length: Int64, reader: any ObjectChunkReader) {
        self.length = length
        source = .reader(reader)
    }

    /// The bytes, when the body is already in memory (small objects): serve them without a stream.
    public var inMemory: Data? {
        if case .data(let data) = source { return data }
        return nil
    }

    /// The largest chunk an in-memory body yields (slices share the bytes; nothing is copied).
    static let memoryChunkSize = 1024 * 1024

    public struct AsyncIterator: AsyncIteratorProtocol {
        fileprivate var pending: Data?
        fileprivate let reader: (any ObjectChunkReader)?

        public mutating func next() async throws -> Data? {
            if let reader { return try await reader.next() }
            guard let data = pending, !data.isEmpty else { return nil }
            let end = data.index(data.startIndex, offsetBy: Swift.min(data.count, ObjectChunks.memoryChunkSize))
            pending = data[end...]
            return data[..<end]
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        switch source {
        case .data(let data): AsyncIterator(pending: data, reader: nil)
        case .reader(let reader): AsyncIterator(pending: nil, reader: reader)
        }
    }

    /// All the bytes, in memory.
    public func collect() async throws -> Data {
        if case .data(let data) = source { return data }
        var data = Data()
        data.reserveCapacity(Int(clamping: length))
        for try await chunk in self { data.append(chunk) }
        return data
    }
}
