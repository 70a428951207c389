import AerieCore
import Foundation
import Hummingbird
import NIOCore

extension ResponseBody {
    /// A response body that streams an object's chunks: each chunk is read only when the previous one has been
    /// handed to the connection, whose writer waits while the client's socket is full, so a slow download holds the
    /// disk reads back and the server keeps about one chunk per download in memory. A body already in memory is
    /// written in one piece.
    public init(object chunks: ObjectChunks) {
        if let data = chunks.inMemory {
            self.init(byteBuffer: ByteBuffer(bytes: data))
            return
        }
        self.init(contentLength: Int(clamping: chunks.length)) { writer in
            for try await chunk in chunks {
                try await writer.write(ByteBuffer(bytes: chunk))
            }
            try await writer.finish(nil)
        }
    }
}
