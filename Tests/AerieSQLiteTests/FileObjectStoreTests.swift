import AerieCore
@testable import AerieSQLite
import Crypto
import Foundation
import Testing

/// All regular files under a folder, as paths relative to it, except the object store's lock files.
func filesUnder(_ url: URL) -> [String] {
    let base = url.standardizedFileURL.path
    guard let enumerator = FileManager.default.enumerator(atPath: base) else { return [] }
    var files: [String] = []
    while let path = enumerator.nextObject() as? String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: base + "/" + path, isDirectory: &isDirectory), !isDirectory.boolValue,
           !path.hasSuffix(".lock") {
            files.append(path)
        }
    }
    return files.sorted()
}

func quotedMD5(_ data: Data) -> String {
    "\"" + Insecure.MD5.hash(data: data).map { String(format: "%02x", $0) }.joined() + "\""
}

@Suite struct FileObjectStoreTests {
    @Test func putGetHeadRangeAndEtag() async throws {
        try await withStorage { storage, _ in
            let objects = storage.objects
            _ = try await objects.createBucket("photos")
            let body = Data("hello, object world".utf8)
            let chunks = [body.prefix(5), body.dropFirst(5)].map { Data($0) }
            let info = try await objects.put(bucket: "photos", key: "a/b.txt", body: chunks.async,
                                             attributes: ObjectAttributes(contentType: "text/plain", metadata: ["Owner": "ann"]), maxSize: 1000)
            #expect(info.size == Int64(body.count))
            #expect(info.etag == quotedMD5(body))
            #expect(info.metadata == ["owner": "ann"])
            #expect(try await objects.head(bucket: "photos", key: "a/b.txt") == info)
            #expect(try await objects.get(bucket: "photos", key: "a/b.txt", range: nil).body == body)
            let range = try await objects.get(bucket: "photos", key: "a/b.txt", range: .closed(start: 7, end: 12))
            #expect(range.body == Data("object".utf8))
            #expect(range.range == 7...12)
            #expect(try await objects.get(bucket: "photos", key: "a/b.txt", range: .suffix(length: 5)).body == Data("world".utf8))
            #expect(try await objects.get(bucket: "photos", key: "a/b.txt", range: .from(start: 18)).body == Data("d".utf8))
            #expect(await errorCode { _ = try await objects.get(bucket: "photos", key: "a/b.txt", range: .from(start: 19)) } == .invalidArgument)
            #expect(await errorCode { _ = try await objects.get(bucket: "photos", key: "missing", range: nil) } == .notFound)
            #expect(await errorCode { _ = try await objects.head(bucket: "nobucket", key: "x") } == .notFound)
            #expect(await errorCode { _ = try await objects.put(bucket: "nobucket", key: "x", data: Data()) } == .notFound)
            let empty = try await objects.put(bucket: "photos", key: "empty", data: Data())
            #expect(try await objects.get(bucket: "photos", key: "empty", range: nil).body == Data())
            #expect(empty.etag == quotedMD5(Data()))
        }
    }

    @Test func largeObjectsAreReadFromDiskChunkByChunk() async throws {
        try await withStorage { storage, _ in
            let objects = storage.objects
            _ = try await objects.createBucket("big")
            let body = Data((0..<(FileChunkReader.chunkSize * 2 + 3)).map { UInt8(truncatingIfNeeded: $0 % 253) })
            try await objects.put(bucket: "big", key: "k", data: body)
            let stream = try await objects.read(bucket: "big", key: "k", range: nil)
            #expect(stream.body.inMemory == nil, "a body larger than one chunk is not read ahead")
            var sizes: [Int] = []
            var joined = Data()
            for try await chunk in stream.body {
                sizes.append(chunk.count)
                joined.append(chunk)
            }
            #expect(sizes == [FileChunkReader.chunkSize, FileChunkReader.chunkSize, 3])
            #expect(joined == body)
            let small = try await objects.read(bucket: "big", key: "k", range: .closed(start: 10, end: 20))
            #expect(small.body.inMemory == body[10...20], "a range within one chunk is read at once")
        }
    }

    @Test func chunksKeptByTheConsumerStayAsTheyWereRead() async throws {
        // The reader reuses its chunk buffer once the consumer has let go of it; a consumer that keeps the chunks
        // (here, all of them) must still see each one as it was read, not overwritten by the next.
        try await withStorage { storage, _ in
            let objects = storage.objects
            _ = try await objects.createBucket("big")
            let body = Data((0..<(FileChunkReader.chunkSize * 3 + 5)).map { UInt8(truncatingIfNeeded: $0 / 7 % 251) })
            try await objects.put(bucket: "big", key: "k", data: body)
            var kept: [Data] = []
            for try await chunk in try await objects.read(bucket: "big", key: "k", range: nil).body {
                kept.append(chunk)
            }
            #expect(kept.count == 4)
            for (index, chunk) in kept.enumerated() {
                let start = index * FileChunkReader.chunkSize
                #expect(chunk == body[start..<min(start + FileChunkReader.chunkSize, body.count)], "chunk \(index)")
            }
        }
    }

    @Test func tooLargeBodiesStoreNothingAndLeaveNoFile() async throws {
        try await withStorage { storage, _ in
            let objects = storage.objects
            _ = try await objects.createBucket("photos")
            let chunks = (0..<10).map { _ in Data(repeating: 7, count: 100) }
            #expect(await errorCode { _ = try await objects.put(bucket: "photos", key: "big", body: chunks.async, attributes: .init(), maxSize: 999) } == .tooLarge)
            #expect(try await objects.head(bucket: "photos", key: "big") == nil)
            #expect(filesUnder(objects.directory).isEmpty)
            #expect(try await storage.events.topic(ObjectEvent.topic) == nil)
        }
    }

    @Test func fileNamesComeFromKeyHashesNotKeyText() async throws {
        try await withStorage { storage, _ in
            // Through the front end (which, as S3, accepts dot segments and a leading '/'), then the driver's files are
            // inspected: every one is a hash-named file inside its bucket's folder, whatever the key says.
            let objects = storage.primitives.objects
            _ = try await objects.createBucket("photos")
            let keys = ["..%2F..%2Fetc/passwd", "dir/../../x", "../../../../etc/passwd", "/etc/shadow", "..", ".", "a/./b", "~/.ssh/id",
                        "ünïcødé/名前", String(repeating: "k", count: 1024), String(repeating: "../", count: 300)]
            for key in keys {
                try await objects.put(bucket: "photos", key: key, data: Data(key.utf8))
            }
            let stored = keys
            let files = filesUnder(storage.objects.directory)
            #expect(files.count == stored.count)
            for file in files {
                let parts = file.split(separator: "/")
                #expect(parts.count == 3)
                #expect(parts[0] == "photos")
                #expect(parts[2].hasPrefix(parts[1]))
                #expect(parts[2].allSatisfy { $0.isHexDigit || $0 == "-" })
            }
            for key in stored {
                #expect(try await objects.get(bucket: "photos", key: key, range: nil).body == Data(key.utf8))
            }
        }
    }

    @Test func everyChangeAppendsItsEventAndOverwritesDeleteTheOldFile() async throws {
        try await withStorage { storage, _ in
            let objects = storage.objects
            _ = try await objects.createBucket("photos")
            try await objects.put(bucket: "photos", key: "k", data: Data("one".utf8))
            let firstFiles = filesUnder(objects.directory)
            try await objects.put(bucket: "photos", key: "k", data: Data("two!".utf8), attributes: ObjectAttributes(contentType: "text/plain"))
            let secondFiles = filesUnder(objects.directory)
            #expect(firstFiles.count == 1)
            #expect(secondFiles.count == 1)
            #expect(firstFiles != secondFiles)
            #expect(try await objects.delete(bucket: "photos", key: "k"))
            #expect(try await objects.delete(bucket: "photos", key: "k") == false)
            #expect(filesUnder(objects.directory).isEmpty)

            let records = try await storage.events.read(topic: ObjectEvent.topic, from: 0, limit: 10)
            let events = try records.map { try JSONCoding.decode(ObjectEvent.self, from: $0.payload) }
            #expect(records.map(\.key) == ["photos/k", "photos/k", "photos/k"])
            #expect(events.map(\.kind) == [.created, .created, .removed])
            #expect(events.map(\.size) == [3, 4, 4])
            #expect(events[1].etag == quotedMD5(Data("two!".utf8)))
            #expect(events[2].contentType == "text/plain")
        }
    }

    @Test func listsWithPrefixDelimiterAndCursor() async throws {
        try await withStorage { storage, _ in
            let objects = storage.objects
            _ = try await objects.createBucket("docs")
            let keys = ["a.txt", "dir/1", "dir/2", "dir/sub/3", "dir2/x", "zeta", "dir/é"]
            for key in keys { try await objects.put(bucket: "docs", key: key, data: Data()) }

            let all = try await objects.list(bucket: "docs", ListObjectsRequest())
            #expect(all.objects.map(\.key) == keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
            let top = try await objects.list(bucket: "docs", ListObjectsRequest(delimiter: "/"))
            #expect(top.objects.map(\.key) == ["a.txt", "zeta"])
            #expect(top.commonPrefixes == ["dir/", "dir2/"])
            let inDir = try await objects.list(bucket: "docs", ListObjectsRequest(prefix: "dir/", delimiter: "/"))
            #expect(inDir.objects.map(\.key) == ["dir/1", "dir/2", "dir/é"])
            #expect(inDir.commonPrefixes == ["dir/sub/"])

            // One entry per page: objects and common prefixes interleave in key order.
            var entries: [String] = []
            var cursor: String?
            repeat {
                let page = try await objects.list(bucket: "docs", ListObjectsRequest(delimiter: "/", cursor: cursor, limit: 1))
                entries += page.objects.map(\.key) + page.commonPrefixes
                cursor = page.nextCursor
            } while cursor != nil
            #expect(entries == ["a.txt", "dir/", "dir2/", "zeta"])
            #expect(await errorCode { _ = try await storage.primitives.objects.list(bucket: "docs", ListObjectsRequest(limit: 0)) } == .invalidArgument)
            #expect(await errorCode { _ = try await objects.list(bucket: "docs", ListObjectsRequest(cursor: "!!")) } == .invalidArgument)
        }
    }

    @Test func bucketsAreCreatedListedAndDeletedOnlyWhenEmpty() async throws {
        try await withStorage { storage, _ in
            let objects = storage.objects
            _ = try await objects.createBucket("b-two")
            _ = try await objects.createBucket("a-one")
            #expect(await errorCode { _ = try await objects.createBucket("a-one") } == .alreadyExists)
            #expect(await errorCode { _ = try await storage.primitives.objects.createBucket("Bad_Name") } == .invalidArgument)
            #expect(try await objects.listBuckets().map(\.name) == ["a-one", "b-two"])
            try await objects.put(bucket: "a-one", key: "k", data: Data("x".utf8))
            #expect(await errorCode { try await objects.deleteBucket("a-one") } == .conflict)
            try await objects.delete(bucket: "a-one", key: "k")
            try await objects.deleteBucket("a-one")
            #expect(try await objects.bucket("a-one") == nil)
            #expect(!FileManager.default.fileExists(atPath: objects.directory.appendingPathComponent("a-one").path))
            #expect(await errorCode { try await objects.deleteBucket("a-one") } == .notFound)
        }
    }

    @Test func concurrentPutsToOneKeyLeaveOneConsistentVersion() async throws {
        try await withStorage { storage, _ in
            let objects = storage.objects
            _ = try await objects.createBucket("race")
            try await objects.put(bucket: "race", key: "same", data: Data("initial".utf8))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<8 {
                    group.addTask {
                        for round in 0..<5 {
                            try await objects.put(bucket: "race", key: "same", data: Data("writer \(writer) round \(round)".utf8))
                        }
                    }
                    group.addTask {
                        for _ in 0..<5 {
                            let object = try await objects.get(bucket: "race", key: "same", range: nil)
                            #expect(quotedMD5(object.body) == object.info.etag)
                        }
                    }
                }
                try await group.waitForAll()
            }
            let final = try await objects.get(bucket: "race", key: "same", range: nil)
            #expect(quotedMD5(final.body) == final.info.etag)
            #expect(filesUnder(objects.directory).count == 1)
            #expect(try await storage.events.topic(ObjectEvent.topic)?.nextOffset == 41)
        }
    }
}
