import AerieML
import ArgumentParser
import Foundation

/// `aerie ml`: train tabular models on CSV files and predict with them.
struct MLCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ml",
        abstract: "Train tabular models on CSV data and predict with them.",
        discussion: """
            Train a model, evaluate it on held-out rows and save it:
              aerie ml train iris.csv --target species --model random-forest --out iris.aerieml
            Predict the target for new rows (a target column in the data is ignored):
              aerie ml predict iris.aerieml new.csv > predictions.csv
            """,
        subcommands: [Train.self, Predict.self]
    )

    /// Writes a line to standard error.
    static func note(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Runs `body`, turning engine errors into a message on stderr and exit status 1.
    static func reportingErrors<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as MLError {
            note("error: \(error.message)")
            throw ExitCode(1)
        }
    }

    struct Train: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fit a model on a CSV file, print its metrics as JSON and save it.",
            discussion: """
                Parameters (--param NAME=VALUE, repeatable):
                  all models:          missing=drop|impute  encoding=one-hot|label  scale=none|min-max|standard
                  decision-tree:       criterion=gini|entropy|mse  max_depth  min_samples_split  min_samples_leaf  max_features
                  random-forest:       the decision-tree ones, n_estimators (100), bootstrap (true); max_features sqrt|log2|all|N|fraction
                  logistic-regression: C (1.0)  max_iter (100)  tol
                  svm:                 kernel=rbf|linear  C (1.0)  gamma=scale|auto|NUMBER  tol  max_iter
                  naive-bayes:         var_smoothing (1e-9)
                  knn:                 n_neighbors (5)
                """
        )

        @Argument(help: "CSV file with a header row.")
        var data: String

        @Option(help: "The column to predict.")
        var target: String

        @Option(help: "random-forest, decision-tree, logistic-regression, svm, naive-bayes or knn.")
        var model: String

        @Option(help: "auto (classification for a non-numeric target or ≤ 100 integer values), classification or regression.")
        var task: String = "auto"

        @Option(name: .customLong("param"), help: "A model or preprocessing parameter, NAME=VALUE.")
        var params: [String] = []

        @Option(help: "A CSV file to evaluate on instead of holding out rows.")
        var test: String?

        @Option(name: .customLong("test-size"), help: "Fraction of rows held out for evaluation (0 evaluates on the training rows).")
        var testSize: Double = 0.2

        @Option(help: "Seed for the split and for random models.")
        var seed: UInt64 = 0

        @Option(help: "Threads for fitting and evaluating (default: all cores); the model does not depend on it.")
        var threads: Int?

        @Option(help: "Where to write the model file.")
        var out: String

        func run() async throws {
            let clock = ContinuousClock()
            let start = clock.now
            let options = try MLCommand.reportingErrors { try trainingOptions() }
            let (table, testTable) = try MLCommand.reportingErrors {
                (try DataTable.read(path: data), try test.map { try DataTable.read(path: $0) })
            }
            let loaded = clock.now
            MLCommand.note("aerie ml: fitting \(options.model.rawValue) on \(table.rowCount) rows × \(table.columns.count) columns")
            let (model, report) = try MLCommand.reportingErrors {
                try Trainer.train(data: table, test: testTable, options: options) { MLCommand.note("aerie ml: \($0)") }
            }
            let trained = clock.now
            let bytes = try MLCommand.reportingErrors { try model.save(to: out) }
            let saved = clock.now
            let output = TrainOutput(
                report: report, modelFile: out, modelBytes: bytes,
                loadSeconds: Trainer.seconds(loaded - start), saveSeconds: Trainer.seconds(saved - trained),
                totalSeconds: Trainer.seconds(saved - start))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            print(String(decoding: try encoder.encode(output), as: UTF8.self))
        }

        func trainingOptions() throws -> TrainingOptions {
            try ThreadCount.validate(threads)
            guard let kind = ModelKind(rawValue: model) else {
                throw MLError(.invalidParameter, "unknown model '\(model)'; use one of: \(ModelKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard let taskValue = MLTask(rawValue: task) else {
                throw MLError(.invalidParameter, "unknown task '\(task)'; use auto, classification or regression")
            }
            var parameters: [String: String] = [:]
            for p in params {
                guard let eq = p.firstIndex(of: "="), eq != p.startIndex else {
                    throw MLError(.invalidParameter, "parameter '\(p)' is not NAME=VALUE, e.g. --param max_depth=8")
                }
                parameters[String(p[..<eq])] = String(p[p.index(after: eq)...])
            }
            return TrainingOptions(
                target: target, model: kind, task: taskValue, parameters: parameters, testSize: testSize, seed: seed,
                threads: threads)
        }
    }

    struct Predict: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a CSV of predictions, one row per data row, under a 'prediction' header."
        )

        @Argument(help: "A model file written by 'aerie ml train'.")
        var model: String

        @Argument(help: "CSV file with the model's feature columns (other columns are ignored).")
        var data: String

        @Flag(help: "Add one probability column per class (classification).")
        var probabilities = false

        @Option(help: "Threads for predicting (default: all cores); predictions do not depend on it.")
        var threads: Int?

        func run() async throws {
            let (tabular, prediction) = try MLCommand.reportingErrors {
                try ThreadCount.validate(threads)
                let tabular = try TabularModel.load(from: model)
                let table = try tabular.readTable(path: data)
                return (tabular, try tabular.predict(table, threads: threads))
            }
            var header = ["prediction"]
            let probs = probabilities ? prediction.probabilities : nil
            if probs != nil { header += tabular.metadata.classes.map { "probability_\($0)" } }
            var text = header.map(Predict.csvField).joined(separator: ",") + "\n"
            let out = FileHandle.standardOutput
            for (i, label) in prediction.labels.enumerated() {
                text += Predict.csvField(label)
                if let probs {
                    for v in probs.row(i) { text += ",\(v)" }
                }
                text += "\n"
                if text.utf8.count > 1 << 16 {
                    out.write(Data(text.utf8))
                    text = ""
                }
            }
            out.write(Data(text.utf8))
        }

        /// Quotes a field per RFC 4180 when it holds a comma, quote or line break.
        static func csvField(_ s: String) -> String {
            guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
            return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
    }
}

/// The JSON that `aerie ml train` prints.
struct TrainOutput: Encodable {
    struct Metrics: Encodable {
        var evaluatedOn: String
        var accuracy: Double?
        var precisionMacro: Double?
        var recallMacro: Double?
        var f1Macro: Double?
        var perClass: [ClassScores]?
        var confusionMatrix: [[Int]]?
        var r2: Double?
        var mae: Double?
        var rmse: Double?
    }
    struct Timings: Encodable {
        var loadSeconds: Double
        var preprocessSeconds: Double
        var fitSeconds: Double
        var evaluateSeconds: Double
        var saveSeconds: Double
        var totalSeconds: Double
    }
    var task: String
    var model: String
    var target: String
    var classes: [String]?
    var trainRows: Int
    var testRows: Int
    var features: Int
    var parameters: [String: String]
    var metrics: Metrics
    var timings: Timings
    var modelFile: String
    var modelBytes: Int

    init(report: TrainingReport, modelFile: String, modelBytes: Int, loadSeconds: Double, saveSeconds: Double, totalSeconds: Double) {
        task = report.task.rawValue
        model = report.model.rawValue
        target = report.target
        classes = report.classes
        trainRows = report.trainRows
        testRows = report.testRows
        features = report.features
        parameters = report.parameters
        let c = report.metrics.classification
        let r = report.metrics.regression
        metrics = Metrics(
            evaluatedOn: report.metrics.evaluatedOn, accuracy: c?.accuracy, precisionMacro: c?.precisionMacro,
            recallMacro: c?.recallMacro, f1Macro: c?.f1Macro, perClass: c?.perClass, confusionMatrix: c?.confusion,
            r2: r?.r2, mae: r?.mae, rmse: r?.rmse)
        timings = Timings(
            loadSeconds: loadSeconds, preprocessSeconds: report.timings.preprocessSeconds,
            fitSeconds: report.timings.fitSeconds, evaluateSeconds: report.timings.evaluateSeconds,
            saveSeconds: saveSeconds, totalSeconds: totalSeconds)
        self.modelFile = modelFile
        self.modelBytes = modelBytes
    }
}
