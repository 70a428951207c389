import AerieCore
import AerieFunctions
import Foundation

/// The Quickstart app's function: counts the words of a text and, for an object `incoming/<path>.txt` of bucket
/// `quickstart`, writes `results/<path>.json` and a row of table `quickstart_wordcounts`.
///
/// Input is one of `{"text": …}`, `{"key": …}` (an object of the quickstart bucket), or the ``ObjectEvent`` of
/// an upload (the object trigger). The effects are idempotent — the result object and the row are keyed by the
/// source — so a redelivered event after a crash changes nothing.
public struct WordCount: Function {
    public static let name = "wordcount"
    public static let bucket = "quickstart"
    public static let table = TableSchema(
        name: "quickstart_wordcounts", partitionKey: "source",
        indexes: [.init(name: "by_folder", partitionKey: "folder", sortKey: "source")]
    )
    /// Texts longer than this are counted in chunks, reporting progress after each.
    static let progressChunk = 64 * 1024
    /// The largest object counted.
    static let maxObjectSize: Int64 = 64 << 20

    public struct Input: Decodable, Sendable {
        public var text: String?
        public var key: String?
        public var bucket: String?
    }

    public struct Output: Codable, Sendable, Equatable {
        public var source: String?
        public var total: Int
        public var counts: [String: Int]
        /// Where the result was written, for objects under `incoming/`.
        public var resultKey: String?

        enum CodingKeys: String, CodingKey {
            case source, total, counts
            case resultKey = "result_key"
        }
    }

    /// What `results/<path>.json` holds.
    struct ResultDocument: Encodable {
        var source: String
        var total: Int
        var counts: [String: Int]
    }

    public var configuration: FunctionConfiguration

    public init(configuration: FunctionConfiguration = FunctionConfiguration(
        concurrency: 4, timeout: .seconds(120), retries: 2, description: "Counts the words of a text or of an uploaded .txt object.")) {
        self.configuration = configuration
    }

    public func handle(_ input: Input, state: Void, context: InvocationContext) async throws -> Output {
        if let text = input.text {
            guard input.key == nil else { throw AerieError.invalid("Give either \"text\" or \"key\", not both.", field: "/key") }
            let (total, counts) = try await count(text, context: context)
            return Output(source: nil, total: total, counts: counts)
        }
        guard let key = input.key else {
            throw AerieError.invalid("The input needs \"text\" (a string to count) or \"key\" (an object of bucket \(Self.bucket)).", field: "/text")
        }
        if let bucket = input.bucket, bucket != Self.bucket {
            throw AerieError.invalid("wordcount reads bucket \(Self.bucket) only, not \(bucket).", field: "/bucket")
        }
        return try await countObject(key: key, context: context)
    }

    private func countObject(key: String, context: InvocationContext) async throws -> Output {
        try ObjectNames.validateKey(key)
        let objects = context.primitives.objects
        guard let info = try await objects.head(bucket: Self.bucket, key: key) else {
            throw AerieError.notFound("Object \(Self.bucket)/\(key) does not exist (it may have been deleted since the upload).")
        }
        guard info.size <= Self.maxObjectSize else {
            throw AerieError(.tooLarge, "\(Self.bucket)/\(key) is \(info.size) bytes; wordcount reads at most \(Self.maxObjectSize).")
        }
        let data = try await objects.get(bucket: Self.bucket, key: key, range: nil).body
        guard let text = String(validating: data, as: UTF8.self) else {
            throw AerieError.invalid("\(Self.bucket)/\(key) is not UTF-8 text, so its words cannot be counted. Upload a UTF-8 .txt file.", field: "/key")
        }
        let (total, counts) = try await count(text, context: context)
        await context.log("counted \(total) words (\(counts.count) distinct) in \(Self.bucket)/\(key)")

        guard let path = Self.resultPath(for: key) else {
            return Output(source: key, total: total, counts: counts)
        }
        let resultKey = "results/\(path).json"
        let document = try JSONCoding.encode(ResultDocument(source: key, total: total, counts: counts))
        try await objects.put(bucket: Self.bucket, key: resultKey, data: document,
                              attributes: ObjectAttributes(contentType: "application/json", metadata: ["source-etag": info.etag]))
        let folder = key.split(separator: "/").dropLast().joined(separator: "/")
        try await context.primitives.tables.put(table: Self.table.name, item: [
            "source": .string(key),
            "folder": .string(folder),
            "total": .number(Double(total)),
            "distinct": .number(Double(counts.count)),
            "result_key": .string(resultKey),
            "etag": .string(info.etag),
            "counted_at": .string(RFC3339.string(from: Date())),
        ], owner: context.owner)
        return Output(source: key, total: total, counts: counts, resultKey: resultKey)
    }

    /// `<path>` of `incoming/<path>.txt`, or nil for other keys.
    static func resultPath(for key: String) -> String? {
        guard key.hasPrefix("incoming/"), key.hasSuffix(".txt") else { return nil }
        let path = key.dropFirst("incoming/".count).dropLast(".txt".count)
        return path.isEmpty ? nil : String(path)
    }

    /// Counts in chunks, reporting progress for large texts and stopping when the invocation is cancelled.
    private func count(_ text: String, context: InvocationContext) async throws -> (Int, [String: Int]) {
        guard text.utf8.count > Self.progressChunk else { return WordCounter.count(text) }
        var counter = WordCounter()
        let totalBytes = Double(text.utf8.count)
        var done = 0
        var start = text.startIndex
        while start < text.endIndex {
            try Task.checkCancellation()
            let end = text.index(start, offsetBy: Self.progressChunk, limitedBy: text.endIndex) ?? text.endIndex
            counter.feed(text[start..<end])
            done += text[start..<end].utf8.count
            start = end
            await context.progress(Double(done) / totalBytes, "counted \(counter.total) words")
        }
        counter.finish()
        return (counter.total, counter.counts)
    }
}
