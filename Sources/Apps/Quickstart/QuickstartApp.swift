import AerieCore
import AerieFunctions
import Logging

/// The Quickstart app: uploading `incoming/<path>.txt` to bucket `quickstart` triggers `wordcount`, which writes
/// `results/<path>.json` and a row of table `quickstart_wordcounts`.
public struct QuickstartApp: AerieApp {
    public static let name = "quickstart"
    public var wordCount: WordCount

    public init(wordCount: WordCount = WordCount()) {
        self.wordCount = wordCount
    }

    public func setUp(primitives: Primitives, runtime: FunctionRuntime, logger: Logger) async throws {
        try await primitives.ensureAppBucket(WordCount.bucket, app: Self.name)
        try await primitives.ensureAppTable(WordCount.table, app: Self.name)
        try runtime.register(wordCount, triggers: [.object(bucket: WordCount.bucket, prefix: "incoming/", suffix: ".txt")])
        logger.info("quickstart app ready: upload incoming/<name>.txt to bucket quickstart")
    }
}
