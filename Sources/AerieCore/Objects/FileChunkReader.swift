import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a byte range of an open file one chunk per `next()`, with `pread`, and closes the file when it is no
/// longer referenced. Holding the descriptor keeps the bytes readable after the object is overwritten or deleted
/// (the store renames new versions in and unlinks old ones), so a stream always yields the version it opened.
///
/// Reads block the calling thread for one chunk (page-cache reads of 256 KiB take tens of microseconds); no
/// file-I/O library in our dependencies offers a pull-based reader that is cheaper than that.
public final class FileChunkReader: ObjectChunkReader {
    public static let chunkSize = 256 * 1024

    private struct Position {
        var offset: Int64
        var remaining: Int64
        /// The chunk buffer, reused: a consumer that lets go of a chunk before asking for the next (a download
        /// does) leaves it unshared, so reading the next chunk into it allocates nothing. A consumer that keeps
        /// chunks makes the read copy on write, as Data does, and what it kept stays as it was.
        var buffer = Data()
    }

    private let descriptor: Int32
    private let position: Mutex<Position>
    private let name: String

    /// Takes ownership of `descriptor`.
    public init(descriptor: Int32, offset: Int64, length: Int64, name: String) {
        self.descriptor = descriptor
        position = Mutex(Position(offset: offset, remaining: length))
        self.name = name
    }

    deinit { _ = close(descriptor) }

    public func next() async throws -> Data? {
        try position.withLock { position -> Data? in
            guard position.remaining > 0 else { return nil }
            let count = Int(min(Int64(Self.chunkSize), position.remaining))
            if position.buffer.count != count { position.buffer = Data(count: count) }
            try Self.read(descriptor, into: &position.buffer, at: position.offset, name: name)
            position.offset += Int64(count)
            position.remaining -= Int64(count)
            return position.buffer
        }
    }

    /// Exactly `count` bytes at `offset`; a file that ends early is an internal error (its metadata says more).
    public static func read(_ descriptor: Int32, count: Int, at offset: Int64, name: String) throws -> Data {
        var data = Data(count: count)
        try read(descriptor, into: &data, at: offset, name: name)
        return data
    }

    /// Fills all of `data` from `offset`.
    private static func read(_ descriptor: Int32, into data: inout Data, at offset: Int64, name: String) throws {
        let count = data.count
        var filled = 0
        while filled < count {
            let got = data.withUnsafeMutableBytes { bytes in
                pread(descriptor, bytes.baseAddress! + filled, count - filled, off_t(offset + Int64(filled)))
            }
            if got > 0 {
                filled += got
            } else if got == 0 {
                throw AerieError(.internal, "The file of \(name) is shorter than its metadata says. Restore it from a backup.")
            } else if errno != EINTR {
                let reason = String(cString: strerror(errno))
                throw AerieError(.unavailable, "Cannot read the file of \(name): \(reason). Retry; check the disk if it persists.")
            }
        }
    }
}
