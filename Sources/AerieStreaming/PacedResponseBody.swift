import AerieCore
import Foundation
import HummingbirdCore
import NIOCore

/// Writes a streamed response body no faster than its connection takes it.
///
/// A connection's writer suspends while its channel is not writable, but the channel learns of a write only when
/// its event loop runs the hand-over, and until then the writer still counts as writable. A producer that never
/// waits (a reader of page-cached bytes, a replay of stored events) can hand over hundreds of buffers before a
/// busy event loop gets a turn: a 1 GiB download under CPU contention raised the server's peak memory by 75 MiB
/// that way. So each write first waits until the event loop has taken the previous one (a no-op submitted after
/// it has run); whatever the producer does between two writes overlaps that wait. Then at most one buffer is
/// handed over ahead of what the channel has queued, and a full channel holds the producer back.
public struct PacedBodyWriter {
    private var writer: any ResponseBodyWriter
    private let eventLoop: any EventLoop
    private var handedOver: EventLoopFuture<Void>?

    init(_ writer: any ResponseBodyWriter, eventLoop: any EventLoop) {
        self.writer = writer
        self.eventLoop = eventLoop
    }

    public mutating func write(_ buffer: ByteBuffer) async throws {
        try await handedOver?.get()
        try await writer.write(buffer)
        handedOver = eventLoop.submit {}
    }

    mutating func finish() async throws {
        try await handedOver?.get()
        try await writer.finish(nil)
    }
}

extension ResponseBody {
    /// A streamed body whose writes are paced by the connection on `eventLoop` (see `PacedBodyWriter`); `write`
    /// writes the body and returns, and the body is then finished.
    public init(contentLength: Int? = nil, pacedOn eventLoop: any EventLoop,
                _ write: @Sendable @escaping (inout PacedBodyWriter) async throws -> Void) {
        self.init(contentLength: contentLength) { writer in
            var paced = PacedBodyWriter(writer, eventLoop: eventLoop)
            try await write(&paced)
            try await paced.finish()
        }
    }

    /// A response body that streams an object's chunks, paced by the connection on `eventLoop`, so a download
    /// keeps a few chunks in memory however fast the disk is and however slow the client. A body already in
    /// memory is written in one piece.
    ///
    /// The chunks are copied into a ring of three buffers that the download reuses instead of allocating one per
    /// chunk. With the pacing a buffer comes round again after the channel has sent it, so `clear()` finds it
    /// unshared and allocates nothing; were it still queued, `clear()` would give it fresh storage rather than
    /// touch bytes being sent.
    public init(object chunks: ObjectChunks, on eventLoop: any EventLoop) {
        if let data = chunks.inMemory {
            self.init(byteBuffer: ByteBuffer(bytes: data))
            return
        }
        self.init(contentLength: Int(clamping: chunks.length), pacedOn: eventLoop) { writer in
            var ring = [ByteBuffer](repeating: ByteBuffer(), count: 3)
            var turn = 0
            for try await chunk in chunks {
                ring[turn].clear(minimumCapacity: chunk.count)
                ring[turn].writeBytes(chunk)
                try await writer.write(ring[turn])
                turn = (turn + 1) % ring.count
            }
        }
    }
}
