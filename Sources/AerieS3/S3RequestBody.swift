import AerieAuth
import AerieCore
import Crypto
import Foundation
import NIOCore
import Synchronization

/// How a request body must be read and checked: plain or aws-chunked, and the digests it must match.
public struct S3BodyPlan: Sendable {
    /// The signing state of `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` bodies: each chunk's signature chains from the seed.
    public struct ChunkSigning: Sendable {
        public var key: SymmetricKey
        public var scope: String
        public var timestamp: String
        public var seedSignature: String

        public init(key: SymmetricKey, scope: String, timestamp: String, seedSignature: String) {
            self.key = key
            self.scope = scope
            self.timestamp = timestamp
            self.seedSignature = seedSignature
        }
    }

    /// The body is aws-chunked (`Content-Encoding: aws-chunked`, a `STREAMING-…` payload hash).
    public var chunked = false
    /// Chunk signatures to check (signed streaming); nil for unsigned ones.
    public var signing: ChunkSigning?
    /// A trailer with a checksum follows the last chunk (`X-Amz-Trailer`).
    public var trailer: S3ChecksumAlgorithm?
    /// `X-Amz-Decoded-Content-Length` (or `Content-Length` of a plain body): the payload must be this long.
    public var length: Int64?
    /// `x-amz-content-sha256` when it is a digest.
    public var sha256: String?
    /// `Content-MD5`, base64.
    public var md5: String?
    /// An `x-amz-checksum-*` header's algorithm and value.
    public var checksum: (algorithm: S3ChecksumAlgorithm, value: String)?
    /// Where the trailer's checksum goes once checked (under `name`), for the store to keep with the object.
    public var trailerTarget: (metadata: TrailingMetadata, name: String)?

    public init() {}
}

/// A request body as the object store reads it: the decoded payload (never the aws-chunked framing), checked as
/// it streams: chunk signatures at each chunk's end; length, SHA-256, Content-MD5 and checksums at the end, where a
/// mismatch throws (``S3Error``) before the store commits anything.
public struct S3RequestBody<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == ByteBuffer {
    public typealias Element = Data
    let base: Base
    let plan: S3BodyPlan
    /// The S3 error the body failed with, if any: a store may report a failed body as its own error (the file
    /// driver says "cannot write"); the S3 API answers with this one instead.
    public let failure = S3BodyFailure()

    public init(_ base: Base, plan: S3BodyPlan) {
        self.base = base
        self.plan = plan
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(source: base.makeAsyncIterator(), plan: plan, failure: failure)
    }

    public struct Iterator: AsyncIteratorProtocol {
        var source: Base.AsyncIterator
        let plan: S3BodyPlan
        var pending: [UInt8] = []
        var sourceDone = false
        var finished = false
        var total: Int64 = 0
        var sha256: SHA256?
        var md5: Insecure.MD5?
        var checksum: S3Checksum?
        // aws-chunked state
        var remainingInChunk = 0
        var chunkHash = SHA256()
        var chunkSignature: String?
        var previousSignature: String
        var lastChunkSeen = false

        let failure: S3BodyFailure

        init(source: Base.AsyncIterator, plan: S3BodyPlan, failure: S3BodyFailure) {
            self.source = source
            self.plan = plan
            self.failure = failure
            if plan.sha256 != nil { sha256 = SHA256() }
            if plan.md5 != nil { md5 = Insecure.MD5() }
            if let algorithm = plan.checksum?.algorithm ?? plan.trailer { checksum = S3Checksum(algorithm) }
            previousSignature = plan.signing?.seedSignature ?? ""
        }

        public mutating func next() async throws -> Data? {
            do {
                return try await step()
            } catch let error as S3Error {
                failure.record(error)
                throw error
            }
        }

        mutating func step() async throws -> Data? {
            guard !finished else { return nil }
            let data: Data?
            if plan.chunked {
                data = try await nextChunked()
            } else {
                data = try await nextPlain()
            }
            if let data {
                total += Int64(data.count)
                sha256?.update(data: data)
                md5?.update(data: data)
                checksum?.update(data)
                return data
            }
            finished = true
            try verifyEnd()
            return nil
        }

        mutating func nextPlain() async throws -> Data? {
            while true {
                guard let buffer = try await source.next() else { return nil }
                if buffer.readableBytes > 0 { return Data(buffer.readableBytesView) }
            }
        }

        /// Pulls more bytes from the source into `pending`; false at the end of the source.
        mutating func fill() async throws -> Bool {
            guard !sourceDone else { return false }
            while let buffer = try await source.next() {
                if buffer.readableBytes > 0 {
                    pending.append(contentsOf: buffer.readableBytesView)
                    return true
                }
            }
            sourceDone = true
            return false
        }

        /// Reads one CRLF-terminated line of the framing.
        mutating func line() async throws -> String {
            while true {
                if let end = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    var lineBytes = pending[..<end]
                    if lineBytes.last == UInt8(ascii: "\r") { lineBytes = lineBytes.dropLast() }
                    let text = String(decoding: lineBytes, as: UTF8.self)
                    pending.removeSubrange(...end)
                    return text
                }
                guard pending.count < 64 * 1024 else { throw Self.malformed("a chunk header line is too long") }
                guard try await fill() else { throw S3Error.incompleteBody }
            }
        }

        static func malformed(_ why: String) -> S3Error {
            S3Error("InvalidRequest", status: 400, "The aws-chunked body is malformed: \(why).")
        }

        mutating func nextChunked() async throws -> Data? {
            while true {
                if remainingInChunk > 0 {
                    if pending.isEmpty { guard try await fill() else { throw S3Error.incompleteBody } }
                    let count = Swift.min(remainingInChunk, pending.count)
                    let data = Data(pending[..<count])
                    pending.removeSubrange(..<count)
                    remainingInChunk -= count
                    chunkHash.update(data: data)
                    if remainingInChunk == 0 {
                        try checkChunkSignature()
                        let crlf = try await line()
                        guard crlf.isEmpty else { throw Self.malformed("a chunk is longer than its declared size") }
                    }
                    return data
                }
                if lastChunkSeen { return nil }
                let header = try await line()
                let parts = header.split(separator: ";", maxSplits: 1)
                guard let sizeText = parts.first, let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else {
                    throw Self.malformed("a chunk header \"\(header.prefix(80))\" has no hex size")
                }
                chunkSignature = nil
                if parts.count == 2 {
                    let extensionText = parts[1].trimmingCharacters(in: .whitespaces)
                    if extensionText.hasPrefix("chunk-signature=") { chunkSignature = String(extensionText.dropFirst(16)) }
                }
                chunkHash = SHA256()
                if size == 0 {
                    try checkChunkSignature()
                    lastChunkSeen = true
                    try await readTrailer()
                    return nil
                }
                remainingInChunk = size
            }
        }

        mutating func checkChunkSignature() throws {
            guard let signing = plan.signing else { return }
            guard let given = chunkSignature else {
                throw S3Error("SignatureDoesNotMatch", status: 403, "A chunk of the signed aws-chunked body has no chunk-signature.")
            }
            let toSign = SigV4.chunkStringToSign(timestamp: signing.timestamp, scope: signing.scope, previousSignature: previousSignature,
                                                 chunkSHA256: SigV4.hex(chunkHash.finalize()))
            let expected = SigV4.signature(key: signing.key, stringToSign: toSign)
            guard Secrets.constantTimeEqual(expected, given.lowercased()) else {
                throw S3Error("SignatureDoesNotMatch", status: 403,
                              "The chunk signature we calculated does not match the one you provided; the body was changed or signed with another key.")
            }
            previousSignature = expected
        }

        /// Reads the trailer lines after the last chunk, up to the empty line, and checks the trailing checksum.
        mutating func readTrailer() async throws {
            var trailers: [String: String] = [:]
            while true {
                if pending.isEmpty, sourceDone { break }
                let text: String
                do {
                    text = try await line()
                } catch let error as S3Error where error.code == S3Error.incompleteBody.code && pending.isEmpty {
                    break
                }
                if text.isEmpty { break }
                if let colon = text.firstIndex(of: ":") {
                    trailers[text[..<colon].trimmingCharacters(in: .whitespaces).lowercased()] =
                        text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
            }
            if let algorithm = plan.trailer {
                guard let value = trailers[algorithm.headerName] else {
                    throw S3Error.invalidRequest("The trailer \(algorithm.headerName) named in X-Amz-Trailer is missing from the body.")
                }
                guard let checksum, checksum.finalize() == value else {
                    throw S3Error.badDigest("The \(algorithm.rawValue.uppercased()) you specified did not match the calculated checksum.")
                }
                if let (metadata, name) = plan.trailerTarget { metadata.set(name, value) }
            }
        }

        func verifyEnd() throws {
            if let length = plan.length, total != length {
                throw total < length ? S3Error.incompleteBody
                    : S3Error.invalidRequest("The body is longer (\(total) bytes) than its declared length (\(length) bytes).")
            }
            if let expected = plan.sha256, let sha256 {
                let computed = SigV4.hex(sha256.finalize())
                guard computed == expected.lowercased() else { throw S3Error.contentSHA256Mismatch(client: expected, computed: computed) }
            }
            if let expected = plan.md5, let md5 {
                guard Data(md5.finalize()).base64EncodedString() == expected else { throw S3Error.badDigest() }
            }
            if let (algorithm, expected) = plan.checksum, let checksum {
                guard checksum.finalize() == expected else {
                    throw S3Error.badDigest("The \(algorithm.rawValue.uppercased()) you specified did not match the calculated checksum.")
                }
            }
        }
    }
}

/// Where a request body records the S3 error it failed with.
public final class S3BodyFailure: Sendable {
    private let error = Mutex<S3Error?>(nil)

    public init() {}

    func record(_ failure: S3Error) { error.withLock { $0 = $0 ?? failure } }

    /// The first error the body threw, if any.
    public var recorded: S3Error? { error.withLock { $0 } }
}
