import AerieCore
import AerieML
import AerieModels
import AerieText
import ArgumentParser
import Foundation

/// `aerie imagine calibrate PAIRS.csv`: precision, recall and false-hit rate of the semantic cache's decision on
/// labelled prompt pairs: by MiniLM similarity alone and with ``PromptGuard`` at thresholds 0.70…0.99, and the learned
/// ``PromptMatcher`` (the cache's default). `--features` writes the learned method's features for its training script.
struct ImagineCalibrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Measure precision, recall and false-hit rate of the cache's decision methods on labelled prompt pairs.",
        discussion: """
            PAIRS.csv has a header row with the columns a, b and same (1 when one image may answer both prompts, \
            0 when not), and optionally kind (a category such as negation or colour, counted in the report).

            A pair is a hit at a threshold when the cosine similarity of the two MiniLM embeddings reaches it; \
            with the guard, PromptGuard must also find the prompts compatible (same negation, colours, relations, \
            counts, styles, attributes and word order). The learned method (the cache's default) keeps the hard \
            rules (negation, counts, colours bound to objects, roles swapped by word order) and scores the rest \
            with a logistic regression on MiniLM's sentence and token-alignment signals and WordNet's relations \
            between the words only one prompt writes (Debian's wordnet-base, or AERIE_WORDNET). The false-hit rate is the \
            share of pairs labelled 0 that hit.

            --features FILE writes each pair's learned features (CSV), the input of \
            scripts/train_prompt_matcher.py; --weights FILE scores with other weights than the bundled ones.

            Examples:
              aerie models install minilm
              aerie imagine calibrate data/imagine/calibration-pairs.csv --chart c.png
              aerie imagine calibrate pairs.csv --model-dir DIR --json
              aerie imagine calibrate data/imagine/paraphrase-training.csv --features features.csv
            """
    )

    @Argument(help: "The labelled pairs (CSV with columns a,b,same[,kind]); several files are scored as one set.")
    var pairs: [String]

    @Option(help: "The data directory whose models/minilm is used (aerie models install minilm).")
    var data = "./aerie-data"

    @Option(help: "A directory holding the MiniLM files directly (overrides --data).")
    var modelDir: String?

    @Option(help: "Write a PNG chart of the three rates by threshold, with and without the guard.")
    var chart: String?

    @Option(help: "The threshold whose false hits and misses are listed (the cache's default).")
    var threshold = 0.90

    @Option(help: "Write each pair's learned features as CSV (the input of scripts/train_prompt_matcher.py).")
    var features: String?

    @Option(help: "Score the learned method with these weights (JSON as Sources/AerieText/Resources/prompt-matcher.json).")
    var weights: String?

    @Flag(help: "Print the results as JSON instead of a table.")
    var json = false

    func run() async throws {
        let labelled = try pairs.flatMap { try Self.readPairs(path: $0) }
        let embedder: any SentenceEmbedder
        if let modelDir {
            embedder = try SentenceEncoder(directory: URL(fileURLWithPath: modelDir, isDirectory: true))
        } else {
            embedder = try SentenceEncoder(store: ModelStore(dataDirectory: URL(fileURLWithPath: data, isDirectory: true)))
        }
        let lexicon = try WordNet.system()
        let embedded = try Self.embed(labelled, embedder: embedder)
        // Features first: they are what retrains weights that no longer fit the feature list.
        if let features {
            try Self.featuresCSV(labelled, embeddings: embedded, lexicon: lexicon).write(toFile: features, atomically: true, encoding: .utf8)
        }
        let model: PromptMatcher.Model
        if let weights {
            model = try JSONDecoder().decode(PromptMatcher.Model.self, from: Data(contentsOf: URL(fileURLWithPath: weights)))
        } else {
            model = try PromptMatcher.bundledModel()
        }
        let matcher = try PromptMatcher(method: .learned, model: model, lexicon: lexicon)
        let calibration = Self.score(labelled, embeddings: embedded, matcher: matcher)
        let rows = calibration.rows()
        if json {
            print(try Self.report(calibration, rows: rows, model: embedder.modelName, threshold: threshold))
        } else {
            print(Self.table(calibration, rows: rows, model: embedder.modelName, source: pairs.joined(separator: " + "), threshold: threshold))
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

    /// The sentence and token embeddings of every distinct prompt, each embedded once.
    static func embed(_ pairs: [LabelledPair], embedder: any SentenceEmbedder) throws -> [String: TokenEmbeddings] {
        var prompts: [String] = []
        var seen: Set<String> = []
        for pair in pairs {
            for prompt in [pair.a, pair.b] where seen.insert(prompt).inserted { prompts.append(prompt) }
        }
        var embeddings: [String: TokenEmbeddings] = [:]
        let batch = 32
        for start in stride(from: 0, to: prompts.count, by: batch) {
            let chunk = Array(prompts[start..<min(start + batch, prompts.count)])
            for (prompt, embedding) in zip(chunk, try embedder.embedTokens(chunk)) { embeddings[prompt] = embedding }
        }
        return embeddings
    }

    /// Embeds every distinct prompt once and scores each pair.
    static func score(_ pairs: [LabelledPair], embedder: any SentenceEmbedder, matcher: PromptMatcher) throws -> ThresholdCalibration {
        score(pairs, embeddings: try embed(pairs, embedder: embedder), matcher: matcher)
    }

    static func score(_ pairs: [LabelledPair], embeddings: [String: TokenEmbeddings], matcher: PromptMatcher) -> ThresholdCalibration {
        ThresholdCalibration(
            pairs: pairs.compactMap { pair in
                guard let a = embeddings[pair.a], let b = embeddings[pair.b] else { return nil }
                let decision = matcher.decide(pair.a, a, pair.b, b)
                return .init(
                    a: pair.a, b: pair.b, same: pair.same, kind: pair.kind,
                    similarity: ThresholdCalibration.cosine(a.sentence, b.sentence),
                    compatible: PromptGuard.compatible(pair.a, pair.b), learned: decision.isMatch, probability: decision.probability,
                    veto: decision.veto)
            })
    }

    /// The learned method's features of each pair, as CSV: `a,b,same,kind,veto` and one column per feature
    /// (``PromptMatcher/featureNames``); `veto` names the hard rule that refuses the pair (such pairs never reach the
    /// scorer, and the training script leaves them out).
    static func featuresCSV(_ pairs: [LabelledPair], embeddings: [String: TokenEmbeddings], lexicon: WordNet) -> String {
        func quoted(_ field: String) -> String {
            field.contains(where: { ",\"\n".contains($0) }) ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
        }
        var lines = [(["a", "b", "same", "kind", "veto"] + PromptMatcher.featureNames).joined(separator: ",")]
        for pair in pairs {
            guard let a = embeddings[pair.a], let b = embeddings[pair.b] else { continue }
            let values = PromptMatcher.features(pair.a, a, pair.b, b, lexicon: lexicon).map { String(format: "%.6f", $0) }
            lines.append(([quoted(pair.a), quoted(pair.b), pair.same ? "1" : "0", quoted(pair.kind), PromptGuard.veto(pair.a, pair.b) ?? ""] + values)
                .joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
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
        let learned = calibration.learnedMetrics()
        lines.append("")
        lines.append(
            "Learned matcher (the cache's default; rules + logistic regression on MiniLM token alignment and WordNet)"
                + String(
                    format: ": false-hit rate %.1f%% (%d of %d different pairs hit), precision %.3f, recall %.3f (%d of %d same pairs missed)",
                    learned.falseHitRate * 100, learned.falsePositives, learned.falsePositives + learned.trueNegatives, learned.precision,
                    learned.recall, learned.falseNegatives, learned.truePositives + learned.falseNegatives))
        let learnedByKind = byKind(calibration, learned: true)
        if !learnedByKind.isEmpty {
            lines.append("  by kind (hits/pairs): " + learnedByKind.map { "\($0.kind) \($0.hits)/\($0.pairs)" }.joined(separator: ", "))
        }
        func describe(_ pair: ThresholdCalibration.Pair) -> String {
            let why = pair.veto.map { "rule \($0)" } ?? pair.probability.map { String(format: "p %.3f", $0) } ?? "below the minimum similarity"
            return String(format: "  %.3f  ", pair.similarity) + "\"\(pair.a)\" / \"\(pair.b)\"  (\(why)\(pair.kind.isEmpty ? "" : ", \(pair.kind)"))"
        }
        let learnedFalseHits = calibration.pairs.filter { !$0.same && $0.learned }
        if !learnedFalseHits.isEmpty { lines.append("  false hits:") }
        lines += learnedFalseHits.map(describe)
        let learnedMisses = calibration.pairs.filter { $0.same && !$0.learned }
        if !learnedMisses.isEmpty { lines.append("  misses:") }
        lines += learnedMisses.map(describe)
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

    /// Hits of the learned method per kind, over all pairs of the kind (same and different).
    struct LearnedKindCount: Encodable, Hashable {
        var kind: String
        var same: Bool
        var hits: Int
        var pairs: Int
    }

    static func byKind(_ calibration: ThresholdCalibration, learned: Bool) -> [LearnedKindCount] {
        var counts: [String: LearnedKindCount] = [:]
        for pair in calibration.pairs where !pair.kind.isEmpty {
            let key = "\(pair.kind) \(pair.same ? 1 : 0)"
            var count = counts[key] ?? LearnedKindCount(kind: pair.kind + (pair.same ? "" : " (different)"), same: pair.same, hits: 0, pairs: 0)
            count.pairs += 1
            if pair.learned { count.hits += 1 }
            counts[key] = count
        }
        return counts.values.sorted { ($0.same ? 0 : 1, $0.kind) < ($1.same ? 0 : 1, $1.kind) }
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
            var learned: Bool
            var probability: Double?
            var veto: String?
        }

        var model: String
        var pairs: Int
        var same: Int
        var different: Int
        var threshold: Double
        var thresholds: [Row]
        var learned: Rates
        var learnedByKind: [LearnedKindCount]
        var falseHitsByKind: [String: [KindCount]]
        var scored: [ScoredPair]
    }

    static func report(_ calibration: ThresholdCalibration, rows: [ThresholdCalibration.Row], model: String, threshold: Double) throws -> String {
        let same = calibration.pairs.filter(\.same).count
        let report = Report(
            model: model, pairs: calibration.pairs.count, same: same, different: calibration.pairs.count - same,
            threshold: threshold,
            thresholds: rows.map { .init(threshold: ($0.threshold * 100).rounded() / 100, similarity: .init($0.plain), guarded: .init($0.guarded)) },
            learned: .init(calibration.learnedMetrics()), learnedByKind: byKind(calibration, learned: true),
            falseHitsByKind: [
                "similarity": byKind(calibration, threshold: threshold, guarded: false),
                "guarded": byKind(calibration, threshold: threshold, guarded: true),
            ],
            scored: calibration.pairs.map {
                .init(a: $0.a, b: $0.b, same: $0.same, kind: $0.kind, similarity: $0.similarity, compatible: $0.compatible,
                      conflict: PromptGuard.conflict($0.a, $0.b), learned: $0.learned, probability: $0.probability, veto: $0.veto)
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
