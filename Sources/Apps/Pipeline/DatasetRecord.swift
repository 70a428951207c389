import AerieCore
import Foundation

/// One version of a dataset as table `pipeline_datasets` holds it: where it came from, how it is trained, which
/// stage it is in, how long each stage took, why it failed, the preprocessing report and, once ready, the model.
public struct DatasetRecord: Codable, Sendable, Equatable {
    /// Where a dataset version is: `queued` → `preprocessing` → `training` → `ready`, or `failed` at any point.
    public enum Stage: String, Codable, Sendable, CaseIterable {
        case queued, preprocessing, training, ready, failed

        public var isFinished: Bool { self == .ready || self == .failed }
    }

    /// The uploaded object this version was made from.
    public struct Source: Codable, Sendable, Equatable {
        public var key: String
        public var etag: String
        public var size: Int64
        public var uploadedAt: Date

        enum CodingKeys: String, CodingKey {
            case key, etag, size
            case uploadedAt = "uploaded_at"
        }
    }

    /// When each stage started and how long it ran, in seconds.
    public struct Timings: Codable, Sendable, Equatable {
        public var queuedAt: Date
        public var preprocessStartedAt: Date?
        public var preprocessSeconds: Double?
        public var trainStartedAt: Date?
        public var trainSeconds: Double?
        /// The model's fit alone, within `train_seconds`.
        public var fitSeconds: Double?
        public var finishedAt: Date?

        enum CodingKeys: String, CodingKey {
            case queuedAt = "queued_at"
            case preprocessStartedAt = "preprocess_started_at"
            case preprocessSeconds = "preprocess_seconds"
            case trainStartedAt = "train_started_at"
            case trainSeconds = "train_seconds"
            case fitSeconds = "fit_seconds"
            case finishedAt = "finished_at"
        }
    }

    /// `<owner>/<name>`: the table's partition key.
    public var dataset: String
    /// The user who uploaded it; empty for datasets uploaded straight to `raw/<name>.csv` (admins see those).
    public var owner: String
    public var name: String
    public var version: Int
    public var stage: Stage
    /// Why the version failed, in words that say what to fix.
    public var error: String?
    /// Progress of the current stage, 0…1.
    public var progress: Double?
    /// What the current stage is doing.
    public var message: String?
    public var options: TrainingRequest
    public var source: Source?
    public var timings: Timings
    public var report: PreprocessReport?
    public var model: ModelSummary?

    static func key(owner: String, name: String) -> String {
        owner.isEmpty ? name : "\(owner)/\(name)"
    }

    init(owner: String, name: String, version: Int, options: TrainingRequest, source: Source?, now: Date) {
        self.dataset = Self.key(owner: owner, name: name)
        self.owner = owner
        self.name = name
        self.version = version
        self.stage = .queued
        self.options = options
        self.source = source
        self.timings = Timings(queuedAt: now)
    }

    /// Marks the version failed with `reason`.
    mutating func fail(_ reason: String, now: Date = Date()) {
        stage = .failed
        error = reason
        message = nil
        progress = nil
        timings.finishedAt = now
    }
}

/// What to train, from the upload's fields or the object's metadata (`X-Aerie-Meta-Target`, `-Model`, `-Task`,
/// `-Test-Size`, `-Seed`, and `-Param-<name>` for each model parameter).
public struct TrainingRequest: Codable, Sendable, Equatable {
    /// The target column; nil means the last column.
    public var target: String?
    /// A model kind (`random-forest`, `decision-tree`, `logistic-regression`, `svm`, `naive-bayes`, `knn`).
    public var model: String
    /// `auto`, `classification` or `regression`.
    public var task: String
    public var parameters: [String: String]
    public var testSize: Double
    public var seed: UInt64

    public init(target: String? = nil, model: String = "random-forest", task: String = "auto", parameters: [String: String] = [:],
                testSize: Double = 0.2, seed: UInt64 = 0) {
        self.target = target
        self.model = model
        self.task = task
        self.parameters = parameters
        self.testSize = testSize
        self.seed = seed
    }

    enum CodingKeys: String, CodingKey {
        case target, model, task, parameters, seed
        case testSize = "test_size"
    }
}

/// What the preprocess stage did, written to `preprocessed/<owner>/<name>.report.json` and kept in the record.
public struct PreprocessReport: Codable, Sendable, Equatable {
    public struct ColumnReport: Codable, Sendable, Equatable {
        public var name: String
        /// `numeric` or `categorical`.
        public var type: String
        public var missing: Int
        /// Distinct values among the kept rows.
        public var distinct: Int
        /// Categorical columns: the categories in label-encoding order (at most 100 shown).
        public var categories: [String]?
        /// Numeric columns: the range among the kept rows.
        public var min: Double?
        public var max: Double?
    }

    public var rowsIn: Int
    public var rowsOut: Int
    public var droppedRows: Int
    /// Feature columns left out because they hold no information (empty or constant), with the reason.
    public var droppedColumns: [String: String]
    public var target: String
    /// The task `auto` resolved to.
    public var task: String
    public var classes: [String]?
    public var features: [ColumnReport]
    /// How categorical features are encoded and numbers scaled; fitted on the training split only, in the train stage.
    public var encoding: String
    public var scaling: String

    enum CodingKeys: String, CodingKey {
        case target, task, classes, features, encoding, scaling
        case rowsIn = "rows_in"
        case rowsOut = "rows_out"
        case droppedRows = "dropped_rows"
        case droppedColumns = "dropped_columns"
    }
}

/// A trained version as listed and written to `models/<owner>/<name>/v<version>.json`.
public struct ModelSummary: Codable, Sendable, Equatable {
    /// One input column of the model, for validating prediction rows and building the form.
    public struct Feature: Codable, Sendable, Equatable {
        public var name: String
        /// `numeric` or `categorical`.
        public var type: String
        public var categories: [String]?
    }

    public struct Metrics: Codable, Sendable, Equatable {
        /// `test` (held-out rows) or `train` (too few rows to hold any out).
        public var evaluatedOn: String
        public var accuracy: Double?
        public var precisionMacro: Double?
        public var recallMacro: Double?
        public var f1Macro: Double?
        /// `confusion[true][predicted]`, rows and columns in `classes` order.
        public var confusion: [[Int]]?
        public var r2: Double?
        public var mae: Double?
        public var rmse: Double?

        enum CodingKeys: String, CodingKey {
            case accuracy, confusion, r2, mae, rmse
            case evaluatedOn = "evaluated_on"
            case precisionMacro = "precision_macro"
            case recallMacro = "recall_macro"
            case f1Macro = "f1_macro"
        }
    }

    public var name: String
    public var version: Int
    public var key: String
    public var size: Int
    public var kind: String
    public var task: String
    public var target: String
    public var classes: [String]?
    public var features: [Feature]
    public var parameters: [String: String]
    public var trainRows: Int
    public var testRows: Int
    public var metrics: Metrics
    public var formatVersion: Int

    enum CodingKeys: String, CodingKey {
        case name, version, key, size, kind, task, target, classes, features, parameters, metrics
        case trainRows = "train_rows"
        case testRows = "test_rows"
        case formatVersion = "format_version"
    }
}
