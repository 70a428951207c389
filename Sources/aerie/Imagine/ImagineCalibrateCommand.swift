import AerieCore
import AerieML
import AerieModels
import AerieText
import ArgumentParser
import Foundation

/// `aerie imagine calibrate PAIRS.csv`: precision, recall and false-hit rate of the semantic cache's
/// similarity threshold on labelled prompt pairs, by MiniLM similarity alone and with ``PromptGuard``.
struct ImagineCalibrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Measure precision, recall and false-hit rate of cache thresholds 0.70…0.99 on labelled prompt pairs.",
        discussion: """
            PAIRS.csv has a header row with the columns a, b and same (1 when one image may answer both prompts, \
            0 when not), and optionally kind (a category such as negation or colour, counted in the report).

            A pair is a hit at a threshold when the cosine similarity of the two MiniLM embeddings reaches it; \
            with the guard, PromptGuard must also find the prompts compatible (same negation, colours, relations, \
            counts, styles, attributes and word order). The false-hit rate is the share of pairs labelled 0 that hit.

            Examples:
              aerie models install minilm
              aerie imagine calibrate data/imagine/calibration-pairs.csv --chart c.png
              aerie imagine calibrate pairs.csv --model-dir DIR --json
            """
    )

    @Argument(help: "The labelled pairs (CSV with columns a,b,same[,kind]).")
    var pairs: String

    @Option(help: "The data directory whose models/minilm is used (aerie models install minilm).")
    var data = "./aerie-data"

    @Option(help: "A directory holding the MiniLM files directly (overrides --data).")
    var modelDir: String?

    @Option(help: "Write a PNG chart of the three rates by threshold, with and without the guard.")
    var chart: String?

    @Option(help: "The threshold whose false hits and misses are listed (the cache's default).")
    var threshold = 0.90

    @Flag(help: "Print the results as JSON instead of a table.")
    var json = false

    func run() async throws {
        let labelled = try Self.readPairs(path: pairs)
        let embedder: any SentenceEmbedder
        if let modelDir {
            embedder = try SentenceEncoder(directory: URL(fileURLWithPath: modelDir, isDirectory: true))
        } else {
            embedder = try SentenceEncoder(store: ModelStore(dataDirectory: URL(fileURLWithPath: data, isDirectory: true)))
        }
        let calibration = try Self.score(labelled, embedder: embedder)
        let rows = calibration.rows()
        if json {
            print(try Self.report(calibration, rows: rows, model: embedder.modelName, threshold: threshold))
        } else {
            print(Self.table(calibration, rows: rows, model: embedder.modelName, source: pairs, threshold: threshold))
        }
        if let chart {
            try Self.chart(rows, threshold: threshold).png().write(to: URL(fileURLWithPath: chart))
            if !json { print("chart: \(chart)") }
        }
    }

    /// A labelled pair before scoring.
    struct LabelledPair: Sendable, Hashable {
        var a: String
        var b: String
        var same: Bool
        var kind: String
    }

    /// Reads `a,b,same[,kind]` with a header row; `same` is 1/0, true/false or yes/no.
    static func readPairs(path: String) throws -> [LabelledPair] {
        guard FileManager.default.fileExists(atPath: path) else {
            throw CLIError("\(path) does not exist; pass a CSV with the columns a,b,same (data/imagine/calibration-pairs.csv is one).")
        }
        return try parsePairs(text: String(contentsOfFile: path, encoding: .utf8), source: path)
    }

    static func parsePairs(text: String, source: String) throws -> [LabelledPair] {
        var columns: [String: Int] = [:]
        var result: [LabelledPair] = []
        var failure: CLIError?
        try CSVReader().read(text: text) { fields, line in
            guard failure == nil else { return }
            if columns.isEmpty {
                for (index, name) in fields.enumerated() { columns[name.trimmingCharacters(in: .whitespaces).lowercased()] = index }
                for name in ["a", "b", "same"] where columns[name] == nil {
                    failure = CLIError("\(source): the header has no column '\(name)'; the first row must name the columns a,b,same[,kind].")
                }
                return
            }
            guard let a = columns["a"], let b = columns["b"], let same = columns["same"],
                fields.count > max(a, b, same)
            else {
                failure = CLIError("\(source) line \(line): expected the columns a,b,same; found \(fields.count) fields.")
                return
            }
            let label: Bool
            switch fields[same].trimmingCharacters(in: .whitespaces).lowercased() {
            case "1", "true", "yes": label = true
            case "0", "false", "no": label = false
            default:
                failure = CLIError("\(source) line \(line): same is '\(fields[same])'; write 1 (one image fits both prompts) or 0.")
                return
            }
            let kind = columns["kind"].flatMap { $0 < fields.count ? fields[$0] : nil } ?? ""
            result.append(LabelledPair(a: fields[a], b: fields[b], same: label, kind: kind))
        }
        if let failure { throw failure }
        guard !result.isEmpty else { throw CLIError("\(source) has no pairs below its header.") }
        return result
    }

    /// Embeds every distinct prompt once and scores each pair.
    static func score(_ pairs: [LabelledPair], embedder: any SentenceEmbedder) throws -> ThresholdCalibration {
        var prompts: [String] = []
        var seen: [String: Int] = [:]
        for pair in pairs {
            for prompt in [pair.a, pair.b] where seen[prompt] == nil {
                seen[prompt] = prompts.count
                prompts.append(prompt)
            }
        }
        var embeddings: [[Float]] = []
        let batch = 32
        for start in stride(from: 0, to: prompts.count, by: batch) {
            embeddings += try embedder.embed(Array(prompts[start..<min(start + batch, prompts.count)]))
        }
        return ThresholdCalibration(
            pairs: pairs.map { pair in
                let similarity = ThresholdCalibration.cosine(embeddings[seen[pair.a] ?? 0], embeddings[seen[pair.b] ?? 0])
                return .init(
                    a: pair.a, b: pair.b, same: pair.same, kind: pair.kind, similarity: similarity,
                    compatible: PromptGuard.compatible(pair.a, pair.b))
            })
    }

    static func table(_ calibration: ThresholdCalibration, rows: [ThresholdCalibration.Row], model: String, source: String, threshold: Double) -> String {
        let same = calibration.pairs.filter(\.same).count
        var lines = [
            "\(model) on \(calibration.pairs.count) pairs (\(same) same, \(calibration.pairs.count - same) different) from \(source)",
            "",
            "           similarity only                 with PromptGuard",
            "threshold  precision  recall  false-hit    precision  recall  false-hit",
        ]
        func cells(_ metrics: ThresholdCalibration.Metrics) -> String {
            String(format: "%9.3f  %6.3f  %9.3f", metrics.precision, metrics.recall, metrics.falseHitRate)
        }
        for row in rows {
            lines.append(String(format: "%9.2f", row.threshold) + "  " + cells(row.plain) + "    " + cells(row.guarded))
        }
        for guarded in [false, true] {
            let metrics = calibration.metrics(threshold: threshold, guarded: guarded)
            let falseHits = calibration.falseHits(threshold: threshold, guarded: guarded)
            lines.append("")
            lines.append(
                String(format: "At %.2f ", threshold) + (guarded ? "with PromptGuard" : "by similarity only")
                    + String(
                    format: ": false-hit rate %.1f%% (%d of %d different pairs hit), precision %.3f, recall %.3f (%d of %d same pairs missed)",
                    metrics.falseHitRate * 100,
                    metrics.falsePositives, metrics.falsePositives + metrics.trueNegatives, metrics.precision, metrics.recall,
                    metrics.falseNegatives, metrics.truePositives + metrics.falseNegatives))
            let byKind = byKind(calibration, threshold: threshold, guarded: guarded)
            if !byKind.isEmpty {
                lines.append("  false hits by kind: " + byKind.map { "\($0.kind) \($0.falseHits)/\($0.different)" }.joined(separator: ", "))
            }
            for pair in falseHits.sorted(by: { $0.similarity > $1.similarity }) {
                lines.append(String(format: "  %.3f  ", pair.similarity) + "\"\(pair.a)\" / \"\(pair.b)\"" + (pair.kind.isEmpty ? "" : "  (\(pair.kind))"))
            }
        }
        return lines.joined(separator: "\n")
    }

    struct KindCount: Encodable, Hashable {
        var kind: String
        var falseHits: Int
        var different: Int

        enum CodingKeys: String, CodingKey {
            case kind
            case falseHits = "false_hits"
            case different
        }
    }

    static func byKind(_ calibration: ThresholdCalibration, threshold: Double, guarded: Bool) -> [KindCount] {
        var counts: [String: KindCount] = [:]
        for pair in calibration.pairs where !pair.same && !pair.kind.isEmpty {
            var count = counts[pair.kind] ?? KindCount(kind: pair.kind, falseHits: 0, different: 0)
            count.different += 1
            if ThresholdCalibration.isHit(pair, threshold: threshold, guarded: guarded) { count.falseHits += 1 }
            counts[pair.kind] = count
        }
        return counts.values.sorted { $0.kind < $1.kind }
    }

    struct Report: Encodable {
        struct Rates: Encodable {
            var precision: Double
            var recall: Double
            var falseHitRate: Double
            var truePositives: Int
            var falsePositives: Int
            var falseNegatives: Int
            var trueNegatives: Int

            init(_ metrics: ThresholdCalibration.Metrics) {
                precision = metrics.precision
                recall = metrics.recall
                falseHitRate = metrics.falseHitRate
                truePositives = metrics.truePositives
                falsePositives = metrics.falsePositives
                falseNegatives = metrics.falseNegatives
                trueNegatives = metrics.trueNegatives
            }
        }

        struct Row: Encodable {
            var threshold: Double
            var similarity: Rates
            var guarded: Rates
        }

        struct ScoredPair: Encodable {
            var a: String
            var b: String
            var same: Bool
            var kind: String
            var similarity: Double
            var compatible: Bool
            var conflict: String?
        }

        var model: String
        var pairs: Int
        var same: Int
        var different: Int
        var threshold: Double
        var thresholds: [Row]
        var falseHitsByKind: [String: [KindCount]]
        var scored: [ScoredPair]
    }

    static func report(_ calibration: ThresholdCalibration, rows: [ThresholdCalibration.Row], model: String, threshold: Double) throws -> String {
        let same = calibration.pairs.filter(\.same).count
        let report = Report(
            model: model, pairs: calibration.pairs.count, same: same, different: calibration.pairs.count - same,
            threshold: threshold,
            thresholds: rows.map { .init(threshold: ($0.threshold * 100).rounded() / 100, similarity: .init($0.plain), guarded: .init($0.guarded)) },
            falseHitsByKind: [
                "similarity": byKind(calibration, threshold: threshold, guarded: false),
                "guarded": byKind(calibration, threshold: threshold, guarded: true),
            ],
            scored: calibration.pairs.map {
                .init(a: $0.a, b: $0.b, same: $0.same, kind: $0.kind, similarity: $0.similarity, compatible: $0.compatible, conflict: PromptGuard.conflict($0.a, $0.b))
            })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: try encoder.encode(report), as: UTF8.self)
    }

    static func chart(_ rows: [ThresholdCalibration.Row], threshold: Double) -> LineChart {
        let blue = LineChart.Colour(red: 31, green: 119, blue: 180)
        let green = LineChart.Colour(red: 44, green: 160, blue: 44)
        let red = LineChart.Colour(red: 214, green: 39, blue: 40)
        func series(_ name: String, _ colour: LineChart.Colour, dashed: Bool, _ value: (ThresholdCalibration.Row) -> Double) -> LineChart.Series {
            .init(name: name, colour: colour, points: rows.map { (x: $0.threshold, y: value($0)) }, dashed: dashed)
        }
        let lower = rows.first?.threshold ?? 0.7
        let upper = rows.last?.threshold ?? 0.99
        return LineChart(
            title: "CACHE THRESHOLD: PRECISION, RECALL, FALSE-HIT RATE (DASHED: WITH PROMPT GUARD)",
            xRange: lower...max(upper, lower + 0.01), xStep: 0.05,
            series: [
                series("PRECISION", blue, dashed: false) { $0.plain.precision },
                series("RECALL", green, dashed: false) { $0.plain.recall },
                series("FALSE HITS", red, dashed: false) { $0.plain.falseHitRate },
                series("PRECISION+G", blue, dashed: true) { $0.guarded.precision },
                series("RECALL+G", green, dashed: true) { $0.guarded.recall },
                series("FALSE HITS+G", red, dashed: true) { $0.guarded.falseHitRate },
            ],
            markers: [threshold])
    }
}
