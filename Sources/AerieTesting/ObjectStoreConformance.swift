import AerieCore
import Foundation
import Synchronization
import Testing

/// The conformance suite of ``ObjectStore`` drivers. Each case gets a fresh, empty ``Primitives`` and also checks
/// that object events land in `primitives.events` on ``ObjectEvent/topic``.
public enum ObjectStoreConformance {
    public static let cases: [ConformanceCase] = [
        check("buckets: create, look up, list, delete", bucketLifecycle),
        check("buckets: S3 naming rules", bucketNames),
        check("buckets: deleting a non-empty bucket is a conflict", nonEmptyBucket),
        check("buckets: every operation on a missing bucket is not-found", missingBucket),
        check("put, get and head round-trip with ETag, content type and metadata", roundTrip),
        check("ETag is the quoted lowercase hex MD5 of the content", etags),
        check("overwriting replaces content and attributes", overwrite),
        check("a streamed body is joined in order", streamedPut),
        check("byte ranges, and unsatisfiable ranges", byteRanges),
        check("a large object reads back as a stream of bounded chunks, whole and ranged", streamedRead),
        check("a stream keeps the version it opened across an overwrite and a delete", streamKeepsItsVersion),
        check("missing keys: get not-found, head nil, delete false", missingKeys),
        check("invalid keys are rejected and nothing is stored", invalidKeys),
        check("valid edge-case keys are accepted", validEdgeKeys),
        check("dot-segment and leading-slash keys are ordinary keys that stay in their bucket", dotSegmentKeys),
        check("keys that differ only in Unicode normalisation are distinct", normalisation),
        check("a put larger than maxSize is too-large and stores nothing", oversizePut),
        check("list: prefix and delimiter roll keys up into common prefixes", listPrefixDelimiter),
        check("list: keys in UTF-8 byte order", listOrder),
        check("list: pages cover every key once", listPagination),
        check("list: pages with a delimiter count each common prefix once", listPaginationDelimiter),
        check("list: a cursor is positional across concurrent changes", listCursorStability),
        check("list: invalid limit and cursor", listValidation),
        check("every put and delete appends an object event", eventsForChanges),
        check("concurrent puts lose nothing", concurrentPuts),
        check("concurrent overwrites leave one whole object", concurrentOverwrites),
        check("a put's precondition is checked against the object as it is at commit, not as it was at the start", preconditionAtCommit),
    ]

    static func check(_ name: String, _ body: @escaping @Sendable (Primitives) async throws -> Void) -> ConformanceCase {
        ConformanceCase(suite: "objects", name: name, body)
    }

    static let bucketName = "conformance"

    static func data(_ text: String) -> Data { Data(text.utf8) }

    static func keys(_ listing: ObjectListing) -> [String] { listing.objects.map(\.key) }

    /// Pages through a whole listing, checking each page's size and that the loop ends.
    static func listAll(_ store: any ObjectStore, bucket: String, prefix: String = "", delimiter: String? = nil,
                        limit: Int, sourceLocation: SourceLocation = #_sourceLocation) async throws -> (keys: [String], prefixes: [String], pages: Int) {
        var keys: [String] = []
        var prefixes: [String] = []
        var cursor: String?
        var pages = 0
        repeat {
            let page = try await store.list(bucket: bucket, ListObjectsRequest(prefix: prefix, delimiter: delimiter, cursor: cursor, limit: limit))
            #expect(page.objects.count + page.commonPrefixes.count <= limit, "a page holds at most `limit` entries", sourceLocation: sourceLocation)
            keys += page.objects.map(\.key)
            prefixes += page.commonPrefixes
            cursor = page.nextCursor
            pages += 1
            try #require(pages <= 10_000, "listing does not end", sourceLocation: sourceLocation)
        } while cursor != nil
        return (keys, prefixes, pages)
    }

    static func objectEvents(_ events: any EventLog, from offset: Int64) async throws -> [(record: EventRecord, event: ObjectEvent)] {
        let records = try await events.read(topic: ObjectEvent.topic, from: offset, limit: 10_000)
        return try records.map { ($0, try JSONCoding.decode(ObjectEvent.self, from: $0.payload)) }
    }

    static func eventStart(_ events: any EventLog) async throws -> Int64 {
        try await events.topic(ObjectEvent.topic)?.nextOffset ?? 0
    }

    // MARK: - Buckets

    @Sendable static func bucketLifecycle(_ p: Primitives) async throws {
        let store = p.objects
        #expect(try await store.bucket(bucketName) == nil)
        let info = try await store.createBucket(bucketName)
        #expect(info.name == bucketName)
        #expect(try await store.bucket(bucketName)?.name == bucketName)
        _ = try await store.createBucket("another.bucket-2")
        #expect(try await store.listBuckets().map(\.name) == ["another.bucket-2", bucketName])
        await expectAerieError(.alreadyExists, mentioning: bucketName) { try await store.createBucket(bucketName) }
        try await store.ensureBucket(bucketName)
        try await store.deleteBucket(bucketName)
        #expect(try await store.bucket(bucketName) == nil)
        #expect(try await store.listBuckets().map(\.name) == ["another.bucket-2"])
        await expectAerieError(.notFound, mentioning: bucketName) { try await store.deleteBucket(bucketName) }
        try await store.ensureBucket(bucketName)
        #expect(try await store.bucket(bucketName) != nil)
    }

    @Sendable static func bucketNames(_ p: Primitives) async throws {
        let bad = ["ab", "Upper", "under_score", "-dash", "dash-", ".dot", "dot.", "a..b", "192.168.1.1",
                   String(repeating: "a", count: 64), "spa ce", "caf\u{E9}", "", "a/b"]
        for name in bad {
            await expectAerieError(.invalidArgument, field: "bucket", "bucket \"\(name)\"") { try await p.objects.createBucket(name) }
        }
        let good = ["abc", "my.bucket-1", "0-9", String(repeating: "a", count: 63), "1.2.3.4.5"]
        for name in good {
            #expect(try await p.objects.createBucket(name).name == name)
        }
        #expect(try await p.objects.listBuckets().count == good.count)
    }

    @Sendable static func nonEmptyBucket(_ p: Primitives) async throws {
        let store = p.objects
        _ = try await store.createBucket(bucketName)
        try await store.put(bucket: bucketName, key: "one", data: data("1"))
        await expectAerieError(.conflict, mentioning: bucketName) { try await store.deleteBucket(bucketName) }
        #expect(try await store.head(bucket: bucketName, key: "one") != nil, "the failed delete kept the object")
        #expect(try await store.delete(bucket: bucketName, key: "one"))
        try await store.deleteBucket(bucketName)
        #expect(try await store.bucket(bucketName) == nil)
    }

    @Sendable static func missingBucket(_ p: Primitives) async throws {
        let store = p.objects
        let missing = "no-such-bucket"
        await expectAerieError(.notFound, mentioning: missing) { try await store.put(bucket: missing, key: "k", data: data("x")) }
        await expectAerieError(.notFound) { try await store.get(bucket: missing, key: "k", range: nil) }
        await expectAerieError(.notFound) { try await store.head(bucket: missing, key: "k") }
        await expectAerieError(.notFound) { try await store.delete(bucket: missing, key: "k") }
        await expectAerieError(.notFound) { try await store.list(bucket: missing, ListObjectsRequest()) }
        await expectAerieError(.notFound) { try await store.deleteBucket(missing) }
        #expect(try await store.bucket(missing) == nil)
        #expect(try await store.listBuckets().isEmpty)
    }

    // MARK: - Objects

    @Sendable static func roundTrip(_ p: Primitives) async throws {
        let store = p.objects
        _ = try await store.createBucket(bucketName)
        let attributes = ObjectAttributes(contentType: "text/plain; charset=utf-8", metadata: ["Author": "Ann", "x-purpose": "test"])
        let put = try await store.put(bucket: bucketName, key: "docs/hello.txt", data: data("hello world"), attributes: attributes)
        #expect(put.bucket == bucketName)
        #expect(put.key == "docs/hello.txt")
        #expect(put.size == 11)
        #expect(put.etag == "\"5eb63bbbe01eeed093cb22bb8f5acdc3\"")
        #expect(put.contentType == "text/plain; charset=utf-8")
        #expect(put.metadata == ["author": "Ann", "x-purpose": "test"], "metadata names are lower-cased, values kept")

        let head = try #require(try await store.head(bucket: bucketName, key: "docs/hello.txt"))
        #expect(head.size == 11)
        #expect(head.etag == put.etag)
        #expect(head.contentType == put.contentType)
        #expect(head.metadata == put.metadata)
        #expect(abs(head.lastModified.timeIntervalSince(put.lastModified)) < 1)

        let got = try await store.get(bucket: bucketName, key: "docs/hello.txt", range: nil)
        #expect(got.body == data("hello world"))
        #expect(got.range == nil)
        #expect(got.info.etag == put.etag)
        #expect(got.info.size == 11)
        #expect(got.info.metadata == put.metadata)

        let plain = try await store.put(bucket: bucketName, key: "plain", data: data("x"))
        #expect(plain.contentType == "application/octet-stream", "the default content type")
        #expect(plain.metadata.isEmpty)
    }

    @Sendable static func etags(_ p: Primitives) async throws {
        let store = p.objects
        _ = try await store.createBucket(bucketName)
        let empty = try await store.put(bucket: bucketName, key: "empty", data: Data())
        #expect(empty.size == 0)
        #expect(empty.etag == "\"d41d8cd98f00b204e9800998ecf8427e\"")
        let fox = try await store.put(bucket: bucketName, key: "fox", data: data("The quick brown fox jumps over the lazy dog"))
        #expect(fox.etag == "\"9e107d9d372bb6826bd81d3542a419d6\"")
        let binary = try await store.put(bucket: bucketName, key: "binary", data: Data((0...255).map { UInt8($0) }))
        #expect(binary.etag == "\"e2c865db4162bed963bfaa9ef6ac18f0\"")
        #expect(binary.size == 256)
        #expect(try await store.get(bucket: bucketName, key: "empty", range: nil).body.isEmpty)
        #expect(try await store.get(bucket: bucketName, key: "binary", range: nil).body == Data((0...255).map { UInt8($0) }))
    }

    @Sendable static func overwrite(_ p: Primitives) async throws {
        let store = p.objects
        _ = try await store.createBucket(bucketName)
        try await store.put(bucket: bucketName, key: "k", data: data("first version"),
                            attributes: ObjectAttributes(contentType: "text/plain", metadata: ["a": "1"]))
        let second = try await store.put(bucket: bucketName, key: "k", data: data("2nd"),
                                         attributes: ObjectAttributes(contentType: "application/json", metadata: ["b": "2"]))
        let got = try await store.get(bucket: bucketName, key: "k", range: nil)
        #expect(got.body == data("2nd"))
        #expect(got.info.size == 3)
        #expect(got.info.etag == second.etag)
        #expect(got.info.contentType == "application/json")
        #expect(got.info.metadata == ["b": "2"])
        #expect(try await keys(store.list(bucket: bucketName, ListObjectsRequest())) == ["k"])
    }

    @Sendable static func streamedPut(_ p: Primitives) async throws {
        let store = p.objects
        _ = try await store.createBucket(bucketName)
        let chunks = (0..<50).map { Data(String(format: "chunk-%02d;", $0).utf8) }
        let whole = chunks.reduce(Data(), +)
        let info = try await store.put(bucket: bucketName, key: "streamed", body: chunks.async, attributes: ObjectAttributes(),
                                       maxSize: Int64(whole.count))
        #expect(info.size == Int64(whole.count), "exactly maxSize bytes is allowed")
        #expect(try await store.get(bucket: bucketName, key: "streamed", range: nil).body == whole)
        let withEmpty = [Data(), data("a"), Data(), data("bc"), Data()]
        _ = try await store.put(bucket: bucketName, key: "sparse", body: withEmpty.async, attributes: ObjectAttributes(), maxSize: 3)
        #expect(try await store.get(bucket: bucketName, key: "sparse", range: nil).body == data("abc"))
    }

    /// 3 MiB + 5 bytes of a repeating pattern, so a shifted or repeated chunk shows.
    static let largeBody: Data = {
        let count = 3 * 1024 * 1024 + 5
        var bytes = [UInt8](repeating: 0, count: count)
        for index in 0..<count {
            let mixed: Int = index &* 31 &+ index / 251
            bytes[index] = UInt8(truncatingIfNeeded: mixed)
        }
        return Data(bytes)
    }()

    /// The chunks of a stream, checking that it yields its announced length and no chunk larger than 1 MiB.
    static func chunks(_ stream: ObjectStream, sourceLocation: SourceLocation = #_sourceLocation) async throws -> [Data] {
        var chunks: [Data] = []
        for try await chunk in stream.body { chunks.append(chunk) }
        #expect(Int64(chunks.reduce(0) { $0 + $1.count }) == stream.body.length, "the stream yields its length", sourceLocation: sourceLocation)
        #expect(chunks.allSatisfy { $0.count <= 1024 * 1024 }, "chunks stay bounded", sourceLocation: sourceLocation)
        return chunks
    }

    @Sendable static func streamedRead(_ p: Primitives) async throws {
        let store = p.objects
        _ = try await store.createBucket(bucketName)
        let info = try await store.put(bucket: bucketName, key: "large", data: largeBody)
        let whole = try await store.read(bucket: bucketName, key: "large", range: nil)
        #expect(whole.info == info)
        #expect(whole.range == nil)
        #expect(whole.body.length == Int64(largeBody.count))
        #expect(try await chunks(whole).reduce(Data(), +) == largeBody)

        let last = Int64(largeBody.count - 1)
        let ranges: [(ByteRange, ClosedRange<Int64>)] = [
            (ByteRange.closed(start: 1000, end: 2_500_000), 1000...2_500_000),
            (ByteRange.from(start: 262_143), 262_143...last),
            (ByteRange.suffix(length: 600_000), (last - 599_999)...last),
        ]
        for (range, served) in ranges {
            let stream = try await store.read(bucket: bucketName, key: "large", range: range)
            #expect(stream.range == served, "\(range)")
            let expected = largeBody[Int(served.lowerBound)...Int(served.upperBound)]
            #expect(try await chunks(stream).reduce(Data(), +) == expected, "\(range)")
        }
        await expectAerieError(.invalidArgument, field: "range") {
            try await store.read(bucket: bucketName, key: "large", range: .from(start: Int64(largeBody.count)))
        }
        await expectAerieError(.notFound) { try await store.read(bucket: bucketName, key: "absent", range: nil) }
        // A consumer that stops early (a client that went away) leaves nothing behind that breaks the next read.
        var iterator = try await store.read(bucket: bucketName, key: "large", range: nil).body.makeAsyncIterator()
        #expect(try await iterator.next()?.isEmpty == false)
        #expect(try await store.get(bucket: bucketName, key: "large", range: nil).body == largeBody)
    }

    @Sendable static func streamKeepsItsVersion(_ p: Primitives) async throws {
        let store = p.objects
        _ = try await store.createBucket(bucketName)
        try await store.put(bucket: bucketName, key: "v", data: largeBody)
        let opened = try await store.read(bucket: bucketName, key: "v", range: nil)
        let replacement = Data(repeating: 7, count: largeBody.count / 2)
        try await store.put(bucket: bucketName, key: "v", data: replacement)
        #expect(try await opened.body.collect() == largeBody, "an overwrite does not change an open stream")
        let second = try await store.read(bucket: bucketName, key: "v", range: nil)
        #expect(try await store.delete(bucket: bucketName, key: "v"))
        #expect(try await second.body.collect() == replacement, "a delete does not cut an open stream short")
    }

    @Sendable static func byteRanges(_ p: Primitives) async throws {
        let store = p.objects
        _ = try await store.createBucket(bucketName)
        let put = try await store.put(bucket: bucketName, key: "digits", data: data("0123456789"))
        let expectations: [(ByteRange, String, ClosedRange<Int64>)] = [
            (.closed(start: 2, end: 5), "2345", 2...5),
            (.closed(start: 0, end: 0), "0", 0...0),
            (.closed(start: 8, end: 100), "89", 8...9),
            (.from(start: 7), "789", 7...9),
            (.from(start: 0), "0123456789", 0...9),
            (.suffix(length: 3), "789", 7...9),
            (.suffix(length: 100), "0123456789", 0...9),
        ]
        for (range, body, served) in expectations {
            let got = try await store.get(bucket: bucketName, key: "digits", range: range)
            #expect(String(decoding: got.body, as: UTF8.self) == body, "\(range)")
            #expect(got.range == served, "\(range)")
            #expect(got.info.size == 10, "info describes the whole object")
            #expect(got.info.etag == put.etag)
        }
        for range in [ByteRange.closed(start: 10, end: 12), .closed(start: 5, end: 2), .from(start: 10), .suffix(length: 0)] {
            await expectAerieError(.invalidArgument, field: "range", "\(range)") {
                try await store.get(bucket: bucketName, key: "digits", range: range)
            }
        }
        try await store.put(bucket: bucketName, key: "empty", data: Data())
        await expectAerieError(.invalidArgument, field: "range", "any range of an empty object") {
            try await store.get(bucket: bucketName, key: "empty", range: .from(start: 0))
        }
        await expectAerieError(.notFound, "a range of a missing object") {
            try await store.get(bucket: bucketName, key: "nothing", range: .from(start: 0))
        }
    }

    @Sendable static func missingKeys(_ p: Primitives) async throws {
        let store = p.objects
        _ = try await store.createBucket(bucketName)
        await expectAerieError(.notFound, mentioning: "ghost") { try await store.get(bucket: bucketName, key: "ghost", range: nil) }
        #expect(try await store.head(bucket: bucketName, key: "ghost") == nil)
        #expect(try await store.delete(bucket: bucketName, key: "ghost") == false)
        try await store.put(bucket: bucketName, key: "real", data: data("r"))
        #expect(try await store.delete(bucket: bucketName, key: "real"))
        #expect(try await store.delete(bucket: bucketName, key: "real") == false)
        #expect(try await store.head(bucket: bucketName, key: "real") == nil)
        await expectAerieError(.notFound) { try await store.get(bucket: bucketName, key: "real", range: nil) }
    }

    @Sendable static func invalidKeys(_ p: Primitives) async throws {
        let store = p.objects
        _ = try await store.createBucket(bucketName)
        let bad = ["", "a\u{0}b", "line\nbreak", "tab\there", "del\u{7F}", String(repeating: "k", count: 1025),
                   String(repeating: "\u{E9}", count: 513)]
        for key in bad {
            let shown = key.debugDescription.prefix(40)
            await expectAerieError(.invalidArgument, field: "key", "put \(shown)") { try await store.put(bucket: bucketName, key: key, data: data("x")) }
            await expectAerieError(.invalidArgument, field: "key", "get \(shown)") { try await store.get(bucket: bucketName, key: key, range: nil) }
            await expectAerieError(.invalidArgument, field: "key", "head \(shown)") { try await store.head(bucket: bucketName, key: key) }
            await expectAerieError(.invalidArgument, field: "key", "delete \(shown)") { try await store.delete(bucket: bucketName, key: key) }
        }
        #expect(try await store.list(bucket: bucketName, ListObjectsRequest()).objects.isEmpty, "nothing was stored")
        #expect(try await objectEvents(p.events, from: 0).isEmpty, "no events for rejected writes")
    }

    /// S3 keys with `.`/`..` segments or a leading `/` are keys like any other: each is its own object, none lands on
    /// the key it would name as a path, and none reaches outside its bucket.
    @Sendable static func dotSegmentKeys(_ p: Primitives) async throws {
        let store = p.objects
        _ = try await store.createBucket(bucketName)
        _ = try await store.createBucket("other-bucket")
        let keys = ["a/../b", "../escape", "..", ".", "./x", "x/.", "x/./y", "a/..", "/absolute", "//", "../other-bucket/victim",
                    "../../../../../../etc/passwd", "a/../../" + bucketName + "/b"]
        for (index, key) in keys.enumerated() {
            try await store.put(bucket: bucketName, key: key, data: data("dot \(index)"))
        }
        for (index, key) in keys.enumerated() {
            #expect(try await store.get(bucket: bucketName, key: key, range: nil).body == data("dot \(index)"), "\(key)")
            #expect(try await store.head(bucket: bucketName, key: key)?.size == Int64(data("dot \(index)").count), "\(key)")
        }
        for plain in ["b", "escape", "x", "absolute", "etc/passwd"] {
            #expect(try await store.head(bucket: bucketName, key: plain) == nil, "no dot key landed on \(plain)")
        }
        #expect(try await store.list(bucket: "other-bucket", ListObjectsRequest()).objects.isEmpty, "nothing reached the other bucket")
        let listed = try await listAll(store, bucket: bucketName, limit: 1000).keys
        #expect(listed.sorted() == keys.sorted())
        for key in keys { #expect(try await store.delete(bucket: bucketName, key: key), "\(key)") }
        #expect(try await store.list(bucket: bucketName, ListObjectsRequest()).objects.isEmpty)
    }

    @Sendable static func validEdgeKeys(_ p: Primitives) async throws {
        let store = p.objects
        _ = try await store.createBucket(bucketName)
        let good = ["a", "a..b", ".hidden", "dir/", "dir//double", "...", "sp ace", "r\u{E9}sum\u{E9}.pdf", "emoji-\u{1F600}",
                    "back\\slash", "percent%2F", "question?&=#", String(repeating: "k", count: 1024),
                    String(repeating: "\u{E9}", count: 512)]
        for (index, key) in good.enumerated() {
            let body = data("body \(index)")
            try await store.put(bucket: bucketName, key: key, data: body)
            #expect(try await store.get(bucket: bucketName, key: key, range: nil).body == body, "\(key.prefix(40))")
        }
        let listed = try await listAll(store, bucket: bucketName, limit: 1000).keys
        #expect(Set(listed.map { Array($0.utf8) }) == Set(good.map { Array($0.utf8) }))
    }

    @Sendable static func normalisation(_ p: Primitives) async throws {
        let store = p.objects
        _ = try await store.createBucket(bucketName)
        let composed = "caf\u{E9}"
        let decomposed = "cafe\u{301}"
        try await store.put(bucket: bucketName, key: composed, data: data("composed"))
        try await store.put(bucket: bucketName, key: decomposed, data: data("decomposed"))
        #expect(try await store.get(bucket: bucketName, key: composed, range: nil).body == data("composed"))
        #expect(try await store.get(bucket: bucketName, key: decomposed, range: nil).body == data("decomposed"))
        let listed = try await store.list(bucket: bucketName, ListObjectsRequest()).objects.map { Array($0.key.utf8) }
        #expect(listed == [Array(decomposed.utf8), Array(composed.utf8)], "two objects, in byte order")
        #expect(try await store.delete(bucket: bucketName, key: composed))
        #expect(try await store.head(bucket: bucketName, key: decomposed) != nil)
    }

    @Sendable static func oversizePut(_ p: Primitives) async throws {
        let store = p.objects
        _ = try await store.createBucket(bucketName)
        let start = try await eventStart(p.events)
        let chunks = Array(repeating: Data(repeating: 7, count: 100), count: 4)
        await expectAerieError(.tooLarge) {
            try await store.put(bucket: bucketName, key: "big", body: chunks.async, attributes: ObjectAttributes(), maxSize: 250)
        }
        #expect(try await store.head(bucket: bucketName, key: "big") == nil, "nothing stored")
        #expect(try await store.list(bucket: bucketName, ListObjectsRequest()).objects.isEmpty)

        let original = try await store.put(bucket: bucketName, key: "kept", data: data("original"))
        await expectAerieError(.tooLarge) {
            try await store.put(bucket: bucketName, key: "kept", body: chunks.async, attributes: ObjectAttributes(), maxSize: 399)
        }
        let kept = try await store.get(bucket: bucketName, key: "kept", range: nil)
        #expect(kept.body == data("original"), "a failed overwrite leaves the old object whole")
        #expect(kept.info.etag == original.etag)
        await expectAerieError(.tooLarge) { try await store.put(bucket: bucketName, key: "one", data: data("12"), maxSize: 1) }
        let events = try await objectEvents(p.events, from: start)
        #expect(events.map(\.event.key) == ["kept"], "only the successful put left an event")
    }

    // MARK: - Listing

    static let tree = ["a.txt", "photos/2024/jan.jpg", "photos/2024/feb.jpg", "photos/2025/x.jpg", "photos/readme", "videos/v.mp4", "z"]

    @Sendable static func listPrefixDelimiter(_ p: Primitives) async throws {
        let store = p.objects
        _ = try await store.createBucket(bucketName)
        for key in tree { try await store.put(bucket: bucketName, key: key, data: data(key)) }

        let all = try await store.list(bucket: bucketName, ListObjectsRequest())
        #expect(keys(all) == ["a.txt", "photos/2024/feb.jpg", "photos/2024/jan.jpg", "photos/2025/x.jpg", "photos/readme", "videos/v.mp4", "z"])
        #expect(all.commonPrefixes.isEmpty)
        #expect(all.nextCursor == nil)
        #expect(all.objects.first?.size == 5)
        #expect(all.objects.first?.etag.hasPrefix("\"") == true)

        let top = try await store.list(bucket: bucketName, ListObjectsRequest(delimiter: "/"))
        #expect(keys(top) == ["a.txt", "z"])
        #expect(top.commonPrefixes == ["photos/", "videos/"])

        let photos = try await store.list(bucket: bucketName, ListObjectsRequest(prefix: "photos/", delimiter: "/"))
        #expect(keys(photos) == ["photos/readme"])
        #expect(photos.commonPrefixes == ["photos/2024/", "photos/2025/"])

        let year = try await store.list(bucket: bucketName, ListObjectsRequest(prefix: "photos/2024/"))
        #expect(keys(year) == ["photos/2024/feb.jpg", "photos/2024/jan.jpg"])

        let partial = try await store.list(bucket: bucketName, ListObjectsRequest(prefix: "photos/20", delimiter: "/"))
        #expect(keys(partial).isEmpty)
        #expect(partial.commonPrefixes == ["photos/2024/", "photos/2025/"])

        let otherDelimiter = try await store.list(bucket: bucketName, ListObjectsRequest(delimiter: "."))
        #expect(keys(otherDelimiter) == ["photos/readme", "z"])
        #expect(otherDelimiter.commonPrefixes == ["a.", "photos/2024/feb.", "photos/2024/jan.", "photos/2025/x.", "videos/v."])

        let none = try await store.list(bucket: bucketName, ListObjectsRequest(prefix: "nothing/", delimiter: "/"))
        #expect(none.objects.isEmpty && none.commonPrefixes.isEmpty && none.nextCursor == nil)
    }

    @Sendable static func listOrder(_ p: Primitives) async throws {
        let store = p.objects
        _ = try await store.createBucket(bucketName)
        let keys = ["b", "B", "a", "\u{E9}", "Z", "~", "aa", "a/b", "a-b", "a b", "1", "\u{1F600}", "\u{FF21}"]
        for key in keys { try await store.put(bucket: bucketName, key: key, data: data(key)) }
        let expected = keys.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
        let listed = try await store.list(bucket: bucketName, ListObjectsRequest()).objects.map { Array($0.key.utf8) }
        #expect(listed == expected)
        let paged = try await listAll(store, bucket: bucketName, limit: 2).keys.map { Array($0.utf8) }
        #expect(paged == expected)
    }

    @Sendable static func listPagination(_ p: Primitives) async throws {
        let store = p.objects
        _ = try await store.createBucket(bucketName)
        let all = (0..<25).map { String(format: "item-%03d", $0) }
        for key in all.shuffled() { try await store.put(bucket: bucketName, key: key, data: data(key)) }
        for limit in [1, 7, 25, 100] {
            let result = try await listAll(store, bucket: bucketName, limit: limit)
            #expect(result.keys == all, "limit \(limit)")
            #expect(result.pages >= (all.count + limit - 1) / limit, "limit \(limit)")
        }
        let first = try await store.list(bucket: bucketName, ListObjectsRequest(limit: 10))
        #expect(keys(first) == Array(all.prefix(10)))
        #expect(first.nextCursor != nil)
        let withPrefix = try await listAll(store, bucket: bucketName, prefix: "item-01", limit: 3)
        #expect(withPrefix.keys == (10...19).map { String(format: "item-%03d", $0) })
    }

    @Sendable static func listPaginationDelimiter(_ p: Primitives) async throws {
        let store = p.objects
        _ = try await store.createBucket(bucketName)
        var loose: [String] = []
        var folders: [String] = []
        for folder in 0..<6 {
            folders.append("f\(folder)/")
            for item in 0..<3 { try await store.put(bucket: bucketName, key: "f\(folder)/\(item)", data: data("x")) }
            loose.append("f\(folder)-loose")
            try await store.put(bucket: bucketName, key: "f\(folder)-loose", data: data("y"))
        }
        for limit in [1, 2, 5, 50] {
            let result = try await listAll(store, bucket: bucketName, delimiter: "/", limit: limit)
            #expect(result.keys == loose, "limit \(limit)")
            #expect(result.prefixes == folders, "limit \(limit): each common prefix once")
        }
    }

    @Sendable static func listCursorStability(_ p: Primitives) async throws {
        let store = p.objects
        _ = try await store.createBucket(bucketName)
        let initial = (0..<10).map { "k\($0)" }
        for key in initial { try await store.put(bucket: bucketName, key: key, data: data(key)) }
        let first = try await store.list(bucket: bucketName, ListObjectsRequest(limit: 3))
        #expect(keys(first) == ["k0", "k1", "k2"])
        // Change the bucket between pages: remove one key already listed and one not yet listed, add one on each side.
        try await store.delete(bucket: bucketName, key: "k1")
        try await store.delete(bucket: bucketName, key: "k5")
        try await store.put(bucket: bucketName, key: "k0a", data: data("before the cursor"))
        try await store.put(bucket: bucketName, key: "k55", data: data("after the cursor"))
        var rest: [String] = []
        var cursor = first.nextCursor
        while let current = cursor {
            let page = try await store.list(bucket: bucketName, ListObjectsRequest(cursor: current, limit: 3))
            rest += keys(page)
            cursor = page.nextCursor
        }
        #expect(rest == ["k3", "k4", "k55", "k6", "k7", "k8", "k9"])
    }

    @Sendable static func listValidation(_ p: Primitives) async throws {
        let store = p.objects
        _ = try await store.createBucket(bucketName)
        try await store.put(bucket: bucketName, key: "a", data: data("a"))
        await expectAerieError(.invalidArgument, field: "limit") { try await store.list(bucket: bucketName, ListObjectsRequest(limit: 0)) }
        await expectAerieError(.invalidArgument, field: "cursor") {
            try await store.list(bucket: bucketName, ListObjectsRequest(cursor: "%%% not a cursor %%%"))
        }
    }

    // MARK: - Events

    @Sendable static func eventsForChanges(_ p: Primitives) async throws {
        let store = p.objects
        _ = try await store.createBucket(bucketName)
        let start = try await eventStart(p.events)
        let first = try await store.put(bucket: bucketName, key: "docs/a.txt", data: data("one"),
                                        attributes: ObjectAttributes(contentType: "text/plain", metadata: ["k": "v"]))
        let second = try await store.put(bucket: bucketName, key: "docs/a.txt", data: data("second"))
        let other = try await store.put(bucket: bucketName, key: "b", data: data("bee"))
        #expect(try await store.delete(bucket: bucketName, key: "docs/a.txt"))
        #expect(try await store.delete(bucket: bucketName, key: "docs/a.txt") == false)

        let events = try await objectEvents(p.events, from: start)
        try #require(events.count == 4, "put, put, put, delete; a delete of a missing key adds nothing")
        #expect(events.map(\.event.kind) == [.created, .created, .created, .removed])
        #expect(events.map(\.record.key) == ["\(bucketName)/docs/a.txt", "\(bucketName)/docs/a.txt", "\(bucketName)/b", "\(bucketName)/docs/a.txt"])
        #expect(events.map(\.record.offset) == (0..<4).map { start + Int64($0) })
        #expect(events.allSatisfy { $0.record.topic == ObjectEvent.topic && $0.event.bucket == bucketName })
        #expect(events[0].event.key == "docs/a.txt")
        #expect(events[0].event.size == 3)
        #expect(events[0].event.etag == first.etag)
        #expect(events[0].event.contentType == "text/plain")
        #expect(events[0].event.metadata == ["k": "v"])
        #expect(events[1].event.etag == second.etag)
        #expect(events[1].event.size == 6)
        #expect(events[2].event.etag == other.etag)
        #expect(events[3].event.etag == second.etag, "a removal names what was removed")
        #expect(events[3].event.size == 6)
    }

    // MARK: - Concurrency

    @Sendable static func concurrentPuts(_ p: Primitives) async throws {
        let store = p.objects
        _ = try await store.createBucket(bucketName)
        let start = try await eventStart(p.events)
        let count = 40
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<count {
                group.addTask {
                    try await store.put(bucket: bucketName, key: String(format: "c/%03d", index), data: Data(repeating: UInt8(index), count: index))
                }
            }
            try await group.waitForAll()
        }
        let listed = try await listAll(store, bucket: bucketName, limit: 1000)
        #expect(listed.keys == (0..<count).map { String(format: "c/%03d", $0) })
        for index in [0, 1, 17, count - 1] {
            #expect(try await store.get(bucket: bucketName, key: String(format: "c/%03d", index), range: nil).body == Data(repeating: UInt8(index), count: index))
        }
        let events = try await objectEvents(p.events, from: start)
        #expect(events.count == count)
        #expect(Set(events.map(\.event.key)).count == count)
        #expect(events.map(\.record.offset) == (0..<count).map { start + Int64($0) })
    }

    @Sendable static func concurrentOverwrites(_ p: Primitives) async throws {
        let store = p.objects
        _ = try await store.createBucket(bucketName)
        let start = try await eventStart(p.events)
        let writers = 20
        let written = try await withThrowingTaskGroup(of: (Data, String).self) { group in
            for index in 0..<writers {
                group.addTask {
                    let body = Data(repeating: UInt8(index), count: 1000 + index)
                    let info = try await store.put(bucket: bucketName, key: "shared", data: body)
                    return (body, info.etag)
                }
            }
            var results: [(Data, String)] = []
            for try await result in group { results.append(result) }
            return results
        }
        let final = try await store.get(bucket: bucketName, key: "shared", range: nil)
        let match = written.first { $0.0 == final.body }
        #expect(match != nil, "the object is one writer's whole body")
        #expect(final.info.etag == match?.1)
        #expect(final.info.size == Int64(final.body.count))
        let events = try await objectEvents(p.events, from: start)
        #expect(events.count == writers)
        #expect(events.last?.event.etag == final.info.etag, "the last event describes the object that won")
    }

    /// A conditional put whose body is still arriving while another put creates the object must fail: the
    /// condition ("the object does not exist") is checked when the write commits.
    @Sendable static func preconditionAtCommit(_ p: Primitives) async throws {
        let store = p.objects
        try await store.ensureBucket(bucketName)
        struct Exists: Error {}
        let absent = WritePrecondition { current in if current != nil { throw Exists() } }
        let (chunks, feed) = AsyncStream<Data>.makeStream()
        let slow = Task {
            try await store.put(bucket: bucketName, key: "lock", body: chunks, attributes: ObjectAttributes(precondition: absent),
                                maxSize: 1 << 20)
        }
        feed.yield(data("first half, "))
        // Meanwhile another writer creates the object, under the same condition: it wins.
        _ = try await store.put(bucket: bucketName, key: "lock", data: data("the winner"),
                                attributes: ObjectAttributes(precondition: WritePrecondition { current in if current != nil { throw Exists() } }))
        feed.yield(data("second half"))
        feed.finish()
        await #expect(throws: Exists.self) { try await slow.value }
        let stored = try await store.read(bucket: bucketName, key: "lock", range: nil)
        var body = Data()
        for try await chunk in stored.body { body.append(chunk) }
        #expect(String(decoding: body, as: UTF8.self) == "the winner")
        // A precondition that holds lets the write through, and sees the current object.
        let seen = Mutex<ObjectInfo?>(nil)
        _ = try await store.put(bucket: bucketName, key: "lock", data: data("replaced"),
                                attributes: ObjectAttributes(precondition: WritePrecondition { current in seen.withLock { $0 = current } }))
        #expect(seen.withLock { $0?.etag } == stored.info.etag)
        #expect(try await store.head(bucket: bucketName, key: "lock")?.size == Int64("replaced".utf8.count))
    }
}
