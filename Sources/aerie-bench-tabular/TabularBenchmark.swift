import AerieML
import Foundation

/// `aerie-bench-tabular`: the Swift side of `make bench-tabular`.
///
///     aerie-bench-tabular --train TRAIN.csv --test TEST.csv --target y --model random-forest \
///         [--param NAME=VALUE …] [--latency-rows 200] [--batch-repeats 1] [--threads N] --out MODEL_FILE
///
/// Loads both CSVs, fits on TRAIN, then measures batch prediction on all of TEST (best of
/// `--batch-repeats` runs), single-row
/// prediction latency (one row at a time through the full transform + model path) and accuracy,
/// and prints one JSON object. `--threads` limits fitting and batch prediction (default: all cores). `bench/tabular.py` runs it next to scikit-learn.
@main
struct TabularBenchmark {
    struct Result: Encodable {
        var model: String
        var trainRows: Int
        var testRows: Int
        var fitSeconds: Double
        var batchPredictSeconds: Double
        var singleRowLatencySeconds: Double
        /// The part of the single-row latency spent in the preprocessing transform (median).
        var singleRowTransformSeconds: Double
        var accuracy: Double
        var modelBytes: Int
        var threads: Int
    }

    static func main() {
        do {
            try run(Array(CommandLine.arguments.dropFirst()))
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            exit(1)
        }
    }

    static func run(_ args: [String]) throws {
        var options: [String: String] = [:]
        var params: [String: String] = [:]
        var i = 0
        while i < args.count {
            let name = args[i]
            guard name.hasPrefix("--"), i + 1 < args.count else {
                throw MLError(.invalidParameter, "usage: aerie-bench-tabular --train F --test F --target C --model M [--param N=V …] --out F")
            }
            let value = args[i + 1]
            if name == "--param", let eq = value.firstIndex(of: "=") {
                params[String(value[..<eq])] = String(value[value.index(after: eq)...])
            } else {
                options[String(name.dropFirst(2))] = value
            }
            i += 2
        }
        func option(_ name: String) throws -> String {
            guard let v = options[name] else { throw MLError(.invalidParameter, "missing --\(name)") }
            return v
        }
        guard let kind = ModelKind(rawValue: try option("model")) else {
            throw MLError(.invalidParameter, "unknown model; use one of \(ModelKind.allCases.map(\.rawValue))")
        }
        let threads = try options["threads"].map { text -> Int in
            guard let n = Int(text), n >= 1 else { throw MLError(.invalidParameter, "--threads \(text) must be a whole number ≥ 1") }
            return n
        }
        let latencyRows = Int(options["latency-rows"] ?? "200") ?? 200
        let train = try DataTable.read(path: try option("train"))
        let test = try DataTable.read(path: try option("test"))
        let target = try option("target")
        let clock = ContinuousClock()

        let trainOptions = TrainingOptions(target: target, model: kind, task: .classification, parameters: params, testSize: 0, seed: 0, threads: threads)
        let start = clock.now
        let (model, _) = try Trainer.train(data: train, options: trainOptions)
        let fitSeconds = Trainer.seconds(clock.now - start)

        // Best of a few runs (the machine is shared; bench/tabular.py does the same for sklearn).
        let repeats = max(1, Int(options["batch-repeats"] ?? "1") ?? 1)
        var batchSeconds = Double.infinity
        var predicted: TabularModel.Prediction?
        for _ in 0..<repeats {
            let batchStart = clock.now
            predicted = try model.predict(test, threads: threads)
            batchSeconds = min(batchSeconds, Trainer.seconds(clock.now - batchStart))
        }
        guard let prediction = predicted else { throw MLError(.invalidParameter, "no prediction was made") }
        guard let truth = test.column(named: target)?.values else {
            throw MLError(.missingColumn, "test data lacks the target '\(target)'")
        }
        var correct = 0
        for (r, label) in prediction.labels.enumerated() where truth.text(r) == label { correct += 1 }

        var latencies: [Double] = []
        var transforms: [Double] = []
        let n = min(latencyRows, test.rowCount)
        for r in 0..<n {
            let one = test.selecting(rows: [r])
            let t = clock.now
            _ = try model.predict(one)
            latencies.append(Trainer.seconds(clock.now - t))
            let u = clock.now
            _ = try model.metadata.preprocessor.transform(one)
            transforms.append(Trainer.seconds(clock.now - u))
        }
        latencies.sort()
        transforms.sort()
        let bytes = try model.save(to: try option("out"))

        let result = Result(
            model: kind.rawValue, trainRows: train.rowCount, testRows: test.rowCount, fitSeconds: fitSeconds,
            batchPredictSeconds: batchSeconds, singleRowLatencySeconds: latencies.isEmpty ? 0 : latencies[latencies.count / 2],
            singleRowTransformSeconds: transforms.isEmpty ? 0 : transforms[transforms.count / 2],
            accuracy: Double(correct) / Double(max(1, test.rowCount)), modelBytes: bytes,
            threads: ThreadCount.resolve(threads))
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        print(String(decoding: try encoder.encode(result), as: UTF8.self))
    }
}
