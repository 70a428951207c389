import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A body written by an ``ObjectBodyStore``: the name it is stored under, and what it was found to be.
public struct StoredBody: Sendable, Hashable {
    /// The store's name for the body (a relative path); the metadata row keeps it.
    public var name: String
    public var size: Int64
    /// Quoted hex MD5, as ``ObjectInfo/etag``.
    public var etag: String

    public init(name: String, size: Int64, etag: String) {
        self.name = name
        self.size = size
        self.etag = etag
    }
}

/// Where object bytes live when their metadata lives elsewhere: the embedded store keeps metadata in SQLite, the
/// scale-out store in PostgreSQL; both keep bytes in a body store.
///
/// Bodies are immutable: every put writes a new body under a fresh name, and the metadata transaction decides which
/// body a key names. A body that no metadata references (a put whose transaction never committed, an old version
/// whose removal was cut off by a crash) is an orphan; ``orphanCandidates(olderThan:)`` lists bodies for a sweeper to
/// compare with the metadata.
public protocol ObjectBodyStore: Sendable {
    /// Streams `body` into a new body for `bucket`/`key`; nothing is left behind when it throws. Throws `.tooLarge`
    /// once more than `maxSize` bytes arrive.
    func write<Body: AsyncSequence & Sendable>(bucket: String, key: String, body: Body, maxSize: Int64) async throws -> StoredBody
        where Body.Element == Data
    /// Opens the body `name` (of `size` bytes) for reading `range` (nil: all of it); nil when there is no such body
    /// (it was removed after the caller read the metadata: read the metadata again). `description` names the
    /// object in error messages.
    func open(_ name: String, range: ClosedRange<Int64>?, size: Int64, description: String) async throws -> ObjectChunks?
    /// Removes a body; a missing one is not an error.
    func remove(_ name: String) async
    /// Bodies written before `date`: the ones a sweeper may remove when no metadata references them.
    func orphanCandidates(olderThan date: Date) async throws -> [String]
}

extension ObjectBodyStore {
    /// Opens the object `key` of `bucket` for reading `range`, with its metadata row from `row` (the object's info and
    /// its body's name; nil when there is no such object). A body removed between reading the row and opening it (a
    /// put or delete of the same key in between) makes it read the row again. Throws `.notFound`, or
    /// `.invalidArgument` (field `range`) for a range the object cannot satisfy.
    public func openObject(bucket: String, key: String, range: ByteRange?,
                           row: () async throws -> (info: ObjectInfo, body: String)?) async throws -> ObjectStream {
        for _ in 0..<5 {
            guard let (info, name) = try await row() else {
                throw AerieError.notFound("Object \"\(key)\" does not exist in bucket \"\(bucket)\".")
            }
            var resolved: ClosedRange<Int64>?
            if let range {
                guard let satisfiable = range.resolve(size: info.size) else {
                    throw AerieError.invalid(
                        "The range is not satisfiable for an object of \(info.size) bytes. Ask for bytes within the object.",
                        field: "range")
                }
                resolved = satisfiable
            }
            guard let body = try await open(name, range: resolved, size: info.size, description: "object \"\(key)\" in bucket \"\(bucket)\"") else {
                continue
            }
            return ObjectStream(info: info, range: resolved, body: body)
        }
        throw AerieError(.unavailable, "Object \"\(key)\" in bucket \"\(bucket)\" kept changing while it was read. Retry.")
    }
}

extension StoredBody {
    /// An ETag as S3 writes it: the quoted lower-case hex of an MD5 digest.
    public static func etag(_ digest: some Sequence<UInt8>) -> String {
        "\"" + digest.map { String(format: "%02x", $0) }.joined() + "\""
    }
}

/// What every body store counts while a body streams in: its size, refused past the limit, and its MD5 (the ETag).
public struct BodyMeter {
    public let maxSize: Int64
    public private(set) var size: Int64 = 0
    private var md5 = Insecure.MD5()

    public init(maxSize: Int64) {
        self.maxSize = maxSize
    }

    /// Counts one chunk; throws `.tooLarge` once the body passes `maxSize`.
    public mutating func count(_ chunk: Data) throws {
        size += Int64(chunk.count)
        guard size <= maxSize else {
            throw AerieError(.tooLarge, "The object is larger than the limit of \(maxSize) bytes. Send a smaller object; nothing was stored.")
        }
        md5.update(data: chunk)
    }

    /// The ETag of what was counted.
    public func etag() -> String { StoredBody.etag(md5.finalize()) }
}

/// Bodies as files in a folder: `<folder>/<bucket>/<first 2 hex of sha256(key)>/<sha256(key)>-<version>`.
///
/// Names come from a hash of the key, never from its text, so no key can reach outside its bucket. A write streams
/// to a temporary file under `.tmp` (computing size and MD5), syncs it and renames it into place; a reader holds the
/// open file, so it keeps reading the version it opened after that version is removed. Several processes on one
/// machine (or on a shared file system) may use one folder.
public struct DirectoryBodyStore: ObjectBodyStore {
    public let directory: URL
    /// `directory.path`, kept for joining paths on the read path (URL joins stat the file system).
    private let directoryPath: String
    /// Also sync the folder after a rename, so the new name survives power loss (strict durability).
    public let syncsDirectories: Bool

    /// The folder of files being written: what a crash leaves there is garbage.
    public var temporaryDirectory: URL { directory.appendingPathComponent(".tmp", isDirectory: true) }

    /// Opens (creating if needed) the folder.
    public init(directory: URL, syncsDirectories: Bool = false) throws {
        self.directory = directory
        self.directoryPath = directory.path
        self.syncsDirectories = syncsDirectories
        do {
            try FileManager.default.createDirectory(at: directory.appendingPathComponent(".tmp", isDirectory: true), withIntermediateDirectories: true)
        } catch {
            throw AerieError(.unavailable, "Cannot create the object folder \(directory.path): \(error). Check that it is writable.")
        }
    }

    /// The file of body `name`.
    public func url(of name: String) -> URL { directory.appendingPathComponent(name) }

    public func write<Body: AsyncSequence & Sendable>(bucket: String, key: String, body: Body, maxSize: Int64) async throws -> StoredBody
        where Body.Element == Data {
        let written = try await writeTemporaryFile(body: body, maxSize: maxSize)
        let name = Self.newBodyName(bucket: bucket, key: key)
        let destination = url(of: name)
        do {
            let shard = destination.deletingLastPathComponent()
            try FileManager.default.createDirectory(at: shard, withIntermediateDirectories: true)
            try FileManager.default.moveItem(at: written.url, to: destination)
            if syncsDirectories { try Self.syncDirectory(shard) }
        } catch {
            try? FileManager.default.removeItem(at: written.url)
            if AerieError.isOutOfSpace(error) { throw AerieError.diskFull(directory.path) }
            throw AerieError(.unavailable, "Cannot store the object's file: \(error). Check the disk space and permissions of \(directory.path).")
        }
        return StoredBody(name: name, size: written.size, etag: written.etag)
    }

    public func open(_ name: String, range: ClosedRange<Int64>?, size: Int64, description: String) throws -> ObjectChunks? {
        let descriptor = Glibc.open(directoryPath + "/" + name, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            if errno == ENOENT { return nil }
            let reason = String(cString: strerror(errno))
            throw AerieError(.unavailable, "Cannot open the file of \(description): \(reason). Retry; check the disk if it persists.")
        }
        let start = range?.lowerBound ?? 0
        let length = range.map { $0.upperBound - $0.lowerBound + 1 } ?? size
        if length <= Int64(FileChunkReader.chunkSize) {
            // Small objects (most of them) are read at once: no stream state to keep.
            defer { _ = close(descriptor) }
            return ObjectChunks(data: try FileChunkReader.read(descriptor, count: Int(length), at: start, name: description))
        }
        return ObjectChunks(length: length, reader: FileChunkReader(descriptor: descriptor, offset: start, length: length, name: description))
    }

    public func remove(_ name: String) {
        _ = unlink(directoryPath + "/" + name)
    }

    public func orphanCandidates(olderThan date: Date) throws -> [String] {
        let fileManager = FileManager.default
        var names: [String] = []
        for bucket in (try? fileManager.contentsOfDirectory(atPath: directoryPath)) ?? [] where !bucket.hasPrefix(".") {
            let bucketPath = directoryPath + "/" + bucket
            for shard in (try? fileManager.contentsOfDirectory(atPath: bucketPath)) ?? [] {
                let shardPath = bucketPath + "/" + shard
                for file in (try? fileManager.contentsOfDirectory(atPath: shardPath)) ?? [] {
                    let modified = (try? fileManager.attributesOfItem(atPath: shardPath + "/" + file))?[.modificationDate] as? Date
                    if let modified, modified < date { names.append("\(bucket)/\(shard)/\(file)") }
                }
            }
        }
        return names
    }

    /// Deletes temporary files older than `date` (all of them when no other process writes here); returns how many.
    @discardableResult
    public func removeTemporaryFiles(olderThan date: Date = .distantFuture) -> Int {
        let fileManager = FileManager.default
        var removed = 0
        for name in (try? fileManager.contentsOfDirectory(atPath: temporaryDirectory.path)) ?? [] {
            let file = temporaryDirectory.appendingPathComponent(name)
            let modified = (try? fileManager.attributesOfItem(atPath: file.path))?[.modificationDate] as? Date ?? .distantPast
            if modified < date, (try? fileManager.removeItem(at: file)) != nil { removed += 1 }
        }
        return removed
    }

    /// Streams the body to a temporary file, computing size and MD5; syncs it. Deletes it on failure.
    private func writeTemporaryFile<Body: AsyncSequence & Sendable>(body: Body, maxSize: Int64) async throws
        -> (url: URL, size: Int64, etag: String) where Body.Element == Data {
        let url = temporaryDirectory.appendingPathComponent(UUID().uuidString.lowercased())
        guard FileManager.default.createFile(atPath: url.path, contents: nil),
              let handle = FileHandle(forWritingAtPath: url.path) else {
            if errno == ENOSPC { throw AerieError.diskFull(directory.path) }
            throw AerieError(.unavailable, "Cannot create a temporary file in \(temporaryDirectory.path). Check the disk space and permissions.")
        }
        var meter = BodyMeter(maxSize: maxSize)
        do {
            for try await chunk in body {
                try meter.count(chunk)
                try handle.write(contentsOf: chunk)
            }
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(at: url)
            if error is AerieError || error is CancellationError { throw error }
            if AerieError.isOutOfSpace(error) { throw AerieError.diskFull(directory.path) }
            throw AerieError(.unavailable, "Cannot write the object's file: \(error). Check the disk space of \(directory.path).")
        }
        return (url, meter.size, meter.etag())
    }

    /// `<bucket>/<2 hex>/<sha256 hex of the key>-<version>`.
    public static func bodyName(bucket: String, key: String, version: String) -> String {
        let hash = SHA256.hash(data: Data(key.utf8)).map { String(format: "%02x", $0) }.joined()
        return "\(bucket)/\(hash.prefix(2))/\(hash)-\(version)"
    }

    /// A name no body has had: ``bodyName(bucket:key:version:)`` with a random version.
    public static func newBodyName(bucket: String, key: String) -> String {
        bodyName(bucket: bucket, key: key, version: UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))
    }

    /// Syncs a directory so a rename in it survives power loss.
    public static func syncDirectory(_ url: URL) throws {
        let descriptor = Glibc.open(url.path, O_RDONLY)
        guard descriptor >= 0 else { throw AerieError(.unavailable, "Cannot open \(url.path) to sync it (errno \(errno)).") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw AerieError(.unavailable, "Cannot sync \(url.path) (errno \(errno)).") }
    }
}
