import AerieCore
import AerieFunctions
import AerieML
import Foundation

/// Function `pipeline-preprocess`: for an object `raw/<owner>/<name>.csv` of bucket `pipeline`, checks and cleans the
/// CSV (rows with missing values dropped, columns without information left out) into
/// `preprocessed/<owner>/<name>.csv` with a report, which triggers `pipeline-train`.
///
/// Bad input never fails the invocation: the dataset version ends `failed` with a reason (ragged rows, empty file,
/// binary or non-UTF-8 data, no usable feature, one class, over the size limit). Redelivered events change nothing.
public struct Preprocess: Function {
    public static let name = "pipeline-preprocess"

    public struct Output: Codable, Sendable, Equatable {
        public var dataset: String
        public var version: Int
        public var stage: DatasetRecord.Stage
        public var error: String?
    }

    public var limits: PipelineLimits
    public var configuration: FunctionConfiguration

    public init(limits: PipelineLimits = PipelineLimits()) {
        self.limits = limits
        self.configuration = FunctionConfiguration(concurrency: 2, timeout: .seconds(300), retries: 2,
                                                   description: "Checks and cleans an uploaded CSV of bucket pipeline (raw/ → preprocessed/).", adminOnly: true)
    }

    public func handle(_ event: ObjectEvent, state: Void, context: InvocationContext) async throws -> Output {
        guard event.bucket == PipelineKeys.bucket, let (owner, name) = PipelineKeys.parse(event.key, prefix: PipelineKeys.rawPrefix) else {
            throw AerieError.invalid("pipeline-preprocess takes objects raw/<owner>/<name>.csv of bucket pipeline, not \(event.bucket)/\(event.key).", field: "/key")
        }
        let store = DatasetStore(tables: context.primitives.tables)
        let objects = context.primitives.objects
        let metadata = event.metadata ?? [:]
        let source = DatasetRecord.Source(key: event.key, etag: event.etag, size: event.size, uploadedAt: event.time)

        // The version: named by the upload route, else found (a redelivered event) or allocated.
        var record: DatasetRecord
        if let text = metadata["version"], let version = Int(text), let found = try await store.get(owner: owner, name: name, version: version) {
            record = found.record
        } else if let found = try await store.versions(owner: owner, name: name).last(where: { record in
            // A redelivered event of a direct upload: same object, same time (to the millisecond the records keep).
            guard let known = record.source else { return false }
            return known.etag == event.etag && abs(known.uploadedAt.timeIntervalSince(event.time)) < 0.001
        }) {
            record = found
        } else {
            let options = (try? TrainingRequest.parse(metadata: metadata)) ?? TrainingRequest()
            record = try await store.allocate(owner: owner, name: name, options: options, source: source)
            if let error = Result(catching: { try TrainingRequest.parse(metadata: metadata) }).failure {
                return try await fail(record, store: store, because: (error as? AerieError)?.message ?? "\(error)", context: context)
            }
        }
        let output = { (r: DatasetRecord) in Output(dataset: r.dataset, version: r.version, stage: r.stage, error: r.error) }
        if record.stage != .queued && record.stage != .preprocessing {
            await context.log("\(record.dataset) version \(record.version) is already \(record.stage.rawValue); nothing to do")
            return output(record)
        }

        let started = Date()
        record = try await store.update(owner: owner, name: name, version: record.version) { r in
            r.stage = .preprocessing
            r.source = r.source ?? source
            r.message = "checking the CSV"
            r.progress = 0
            r.timings.preprocessStartedAt = started
        }
        let clock = ContinuousClock()
        let t0 = clock.now

        // The object must still be this version's upload.
        guard let info = try await objects.head(bucket: PipelineKeys.bucket, key: event.key) else {
            return try await fail(record, store: store, because: "The upload \(event.key) was deleted before it could be preprocessed; upload it again.", context: context)
        }
        if info.etag != event.etag, metadata["version"] != nil, info.metadata["version"] != metadata["version"] {
            return try await fail(record, store: store, because: "A newer upload of \(name) replaced this one before it was preprocessed; see the newer version.", context: context)
        }
        guard info.size <= limits.maxDatasetBytes else {
            return try await fail(record, store: store, because: PipelineLimits.tooLargeMessage(size: info.size, limit: limits.maxDatasetBytes), context: context)
        }
        let data = try await objects.get(bucket: PipelineKeys.bucket, key: event.key, range: nil).body

        let cleaned: (csv: String, report: PreprocessReport)
        do {
            cleaned = try Self.clean(data, request: record.options)
        } catch let error as PipelineInputError {
            return try await fail(record, store: store, because: error.message, context: context)
        }
        await context.progress(0.8, "writing the cleaned CSV")

        let reportKey = PipelineKeys.report(owner: owner, name: name)
        try await objects.put(bucket: PipelineKeys.bucket, key: reportKey, data: JSONCoding.encode(cleaned.report),
                              attributes: ObjectAttributes(contentType: "application/json", metadata: ["version": String(record.version)]))
        // The report goes into the record before the object that triggers training: the trainer can finish before
        // this function returns (triggers are woken at once), and its final update keeps what is already there.
        let seconds = Trainer.seconds(clock.now - t0)
        record = try await store.update(owner: owner, name: name, version: record.version) { r in
            r.report = cleaned.report
            r.options.target = cleaned.report.target
            r.timings.preprocessSeconds = seconds
        }
        // This object triggers training; the trainer also accepts a version still marked preprocessing, so a crash
        // between this write and the record's update below cannot leave the version stuck.
        try await objects.put(bucket: PipelineKeys.bucket, key: PipelineKeys.preprocessed(owner: owner, name: name),
                              data: Data(cleaned.csv.utf8),
                              attributes: ObjectAttributes(contentType: "text/csv", metadata: ["version": String(record.version)]))
        record = try await store.update(owner: owner, name: name, version: record.version) { r in
            if r.stage == .preprocessing {
                r.stage = .training
                r.message = "waiting for the trainer"
                r.progress = 0
            }
        }
        await context.log("preprocessed \(record.dataset) v\(record.version): \(cleaned.report.rowsIn) rows in, \(cleaned.report.rowsOut) out")
        return output(record)
    }

    private func fail(_ record: DatasetRecord, store: DatasetStore, because reason: String, context: InvocationContext) async throws -> Output {
        await context.log("\(record.dataset) v\(record.version) failed: \(reason)", level: .warning)
        let failed = try await store.update(owner: record.owner, name: record.name, version: record.version) { $0.fail(reason) }
        return Output(dataset: failed.dataset, version: failed.version, stage: failed.stage, error: failed.error)
    }

    /// Checks and cleans a CSV: the cleaned CSV (target last) and the report. Throws ``PipelineInputError`` saying
    /// what is wrong with the data.
    static func clean(_ data: Data, request: TrainingRequest) throws -> (csv: String, report: PreprocessReport) {
        guard !data.isEmpty else {
            throw PipelineInputError("The file is empty; upload a CSV with a header row and at least two data rows.")
        }
        guard !data.contains(0), var text = String(validating: data, as: UTF8.self) else {
            throw PipelineInputError("The file is not UTF-8 text (it looks binary or uses another encoding); save it as a UTF-8 CSV and upload it again.")
        }
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        guard !text.allSatisfy(\.isWhitespace) else {
            throw PipelineInputError("The file is empty; upload a CSV with a header row and at least two data rows.")
        }
        let table: DataTable
        do {
            table = try DataTable.parse(csv: text)
        } catch let error as MLError {
            throw PipelineInputError("The CSV cannot be read: \(error.message).")
        }
        guard table.rowCount > 0 else {
            throw PipelineInputError("The CSV has a header row but no data rows; add rows to train on.")
        }
        let target = request.target ?? table.columnNames.last ?? ""
        guard let targetColumn = table.column(named: target) else {
            throw PipelineInputError("There is no target column \"\(target)\"; the columns are: \(table.columnNames.joined(separator: ", ")). Name one as the target.")
        }

        // Feature columns without information (all missing, or one value) are left out.
        var dropped: [String: String] = [:]
        var features: [Column] = []
        for column in table.columns where column.name != target {
            let distinct = Self.distinctCount(column.values, rows: 0..<table.rowCount)
            if distinct == 0 {
                dropped[column.name] = "every value is missing"
            } else if distinct == 1 {
                dropped[column.name] = "it holds a single value"
            } else {
                features.append(column)
            }
        }
        guard !features.isEmpty else {
            let why = dropped.isEmpty ? "the CSV has only the target column" : dropped.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; ")
            throw PipelineInputError("No usable feature column to learn from (\(why)); add columns that vary from row to row.")
        }

        // Rows with a missing value are dropped (unless the request imputes features).
        let impute = request.parameters["missing"] == MissingValueStrategy.impute.rawValue
        let kept = (0..<table.rowCount).filter { row in
            !targetColumn.values.isMissing(row) && (impute || !features.contains { $0.values.isMissing(row) })
        }
        guard !kept.isEmpty else {
            throw PipelineInputError("Every row has a missing value, so no row is left after dropping them; fill the gaps or upload with parameter missing=impute.")
        }
        let keptTable = DataTable(columns: features + [targetColumn]).selecting(rows: kept)
        guard let keptTarget = keptTable.column(named: target) else {
            throw PipelineInputError("The target column \"\(target)\" went missing while cleaning; this is a bug, report it.")
        }
        let task = (MLTask(rawValue: request.task) ?? .auto).resolved(for: keptTarget.values)
        var classes: [String]?
        if task == .classification {
            let distinct = Set((0..<keptTable.rowCount).compactMap { keptTarget.values.text($0) })
            guard distinct.count >= 2 else {
                throw PipelineInputError("The target \"\(target)\" has only one class (\(distinct.first ?? "")) in the usable rows; classification needs at least two. Add rows of another class or choose another target.")
            }
            classes = keptTarget.values.isNumeric ? distinct.sorted { (Double($0) ?? 0) < (Double($1) ?? 0) } : distinct.sorted()
        } else if !keptTarget.values.isNumeric {
            throw PipelineInputError("The target \"\(target)\" is not numeric, so it cannot be a regression target; use task classification.")
        }
        guard keptTable.rowCount >= 2 else {
            throw PipelineInputError("Only \(keptTable.rowCount) usable row is left after dropping rows with missing values; upload more rows.")
        }

        let kind = ModelKind(rawValue: request.model) ?? .randomForest
        let report = PreprocessReport(
            rowsIn: table.rowCount, rowsOut: keptTable.rowCount, droppedRows: table.rowCount - keptTable.rowCount,
            droppedColumns: dropped, target: target, task: task.rawValue, classes: classes,
            features: features.map { Self.describe(keptTable.column(named: $0.name) ?? $0, rows: keptTable.rowCount) },
            encoding: request.parameters["encoding"] ?? CategoricalEncoding.oneHot.rawValue,
            scaling: request.parameters["scale"] ?? kind.defaultScaling.rawValue)
        return (Self.csv(keptTable), report)
    }

    static func distinctCount(_ values: ColumnValues, rows: Range<Int>) -> Int {
        var seen = Set<String>()
        for row in rows {
            if let text = values.text(row) {
                seen.insert(text)
                if seen.count > 1 { return 2 }
            }
        }
        return seen.count
    }

    static func describe(_ column: Column, rows: Int) -> PreprocessReport.ColumnReport {
        let missing = (0..<rows).filter { column.values.isMissing($0) }.count
        switch column.values {
        case .numeric(let values):
            let present = values.filter { !$0.isNaN }
            return .init(name: column.name, type: "numeric", missing: missing, distinct: Set(present).count,
                         categories: nil, min: present.min(), max: present.max())
        case .categorical:
            let categories = Set((0..<rows).compactMap { column.values.text($0) }).sorted()
            return .init(name: column.name, type: "categorical", missing: missing, distinct: categories.count,
                         categories: Array(categories.prefix(100)), min: nil, max: nil)
        }
    }

    /// The table as RFC 4180 CSV (fields quoted when they hold a comma, quote or line break; missing values empty).
    static func csv(_ table: DataTable) -> String {
        var out = table.columnNames.map(quote).joined(separator: ",") + "\n"
        for row in 0..<table.rowCount {
            out += table.columns.map { quote($0.values.text(row) ?? "") }.joined(separator: ",")
            out += "\n"
        }
        return out
    }

    static func quote(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// Data the pipeline cannot use; the message says why and what to do.
struct PipelineInputError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// Sizes the app accepts.
public struct PipelineLimits: Sendable {
    /// The largest CSV a dataset may be.
    public var maxDatasetBytes: Int64
    /// The most rows one predict request may hold.
    public var maxPredictRows: Int

    public init(maxDatasetBytes: Int64 = 32 << 20, maxPredictRows: Int = 1000) {
        self.maxDatasetBytes = maxDatasetBytes
        self.maxPredictRows = maxPredictRows
    }

    static func tooLargeMessage(size: Int64, limit: Int64) -> String {
        "The file is \(size) bytes, over the pipeline's limit of \(limit) bytes; upload a smaller sample of the data."
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
