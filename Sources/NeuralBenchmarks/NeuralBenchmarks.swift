import AerieCore
import AerieModels
import AerieONNX
import AerieText
import AerieVectors
import Foundation

/// The in-process Swift side of the neural benchmark: sentence-embedding latency and throughput for both
/// backends, and exact / approximate vector search. `aerie-bench-neural` prints its rows as JSON for
/// bench/neural.py (which adds numpy, ONNX Runtime Python and faiss); `aerie bench neural` prints a table.
public enum NeuralBenchmarks {
    /// One measurement, as a JSON-ready object (`kind`, `engine` and the numbers).
    public typealias Row = [String: any Sendable]

    static let clock = ContinuousClock()

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }

    static func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
        sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
    }

    /// Single short sentence latency (p50, p99 of `repetitions`) and batch-64 throughput (best of 5) for
    /// every backend. ONNX Runtime gets `threads` intra-op threads; OpenBLAS reads `OPENBLAS_NUM_THREADS`.
    public static func embedding(store: ModelStore, threads: Int, repetitions: Int = 300) throws -> [Row] {
        let short = "The quick brown fox jumps over the lazy dog."
        let batch = (0..<64).map { "Sentence number \($0) talks about a cat, a dog and the weather in town today." }
        var rows: [Row] = []
        for backend in SentenceEmbedderBackend.allCases {
            let encoder = try backend.load(store: store, options: .init(intraOpThreads: threads, interOpThreads: 1))
            for _ in 0..<10 { _ = try encoder.embed([short]) }
            var times: [Double] = []
            for _ in 0..<repetitions {
                let start = clock.now
                _ = try encoder.embed([short])
                times.append(milliseconds(clock.now - start))
            }
            times.sort()
            _ = try encoder.embed(batch)
            var best = Double.infinity
            for _ in 0..<5 {
                let start = clock.now
                _ = try encoder.embed(batch)
                best = min(best, milliseconds(clock.now - start))
            }
            rows.append([
                "kind": "embed", "engine": "swift-\(backend.rawValue)", "threads": threads,
                "single_p50_ms": percentile(times, 0.5), "single_p99_ms": percentile(times, 0.99),
                "batch64_sentences_per_s": 64_000 / best,
            ])
        }
        return rows
    }

    /// Exact search (one query at a time, and all queries as one batch) and HNSW (build time, then
    /// recall@k against the exact answers, p50 and p99 for each `efSearch` over `passes` passes of the
    /// queries) on row-major Float32 data. The database is streamed into the index in chunks, so the process
    /// holds one copy of it (the index's): its peak RSS is the index's. The exact rows carry `ids` (the
    /// exact top-k of each query, comma-separated) for cross-checks.
    public static func vectors(
        base: VectorSource, queries: [Float], dimensions: Int, k: Int, threads: Int, efSearch: [Int], dataset: String,
        passes: Int = 5
    ) async throws -> [Row] {
        let queryCount = queries.count / dimensions
        var configuration = VectorIndex.Configuration(dimensions: dimensions, metric: .dot)
        configuration.approximate = .init(threshold: 1, m: 16, efConstruction: 100, efSearch: efSearch.first ?? 64)
        configuration.searchThreads = threads
        let index = try VectorIndex(configuration: configuration)
        var count = 0
        var source = base
        while let chunk = try source.next(rows: 2048, dimensions: dimensions) {
            let rows = chunk.count / dimensions
            let records = (0..<rows).map { row in
                VectorRecord(id: String(count + row), vector: Array(chunk[row * dimensions..<(row + 1) * dimensions]))
            }
            try await index.upsert(records)
            count += rows
        }
        let queryVectors = (0..<queryCount).map { Array(queries[$0 * dimensions..<($0 + 1) * dimensions]) }
        var exactTimes: [Double] = []
        var exactIDs: [[String]] = []
        for query in queryVectors {
            let start = clock.now
            let hits = try await index.search(query, k: k, exact: true)
            exactTimes.append(milliseconds(clock.now - start))
            exactIDs.append(hits.map(\.id))
        }
        exactTimes.sort()
        let batchStart = clock.now
        let batched = try await index.search(batch: queryVectors, k: k)
        let batchMilliseconds = milliseconds(clock.now - batchStart)
        let agreement = zip(batched, exactIDs).reduce(0) { $0 + Set($1.0.map(\.id)).intersection($1.1).count }
        var rows: [Row] = [
            [
                "kind": "vectors", "engine": "swift-exact", "dataset": dataset, "threads": threads, "count": count,
                "p50_ms": percentile(exactTimes, 0.5), "p99_ms": percentile(exactTimes, 0.99),
                "ids": exactIDs.map { $0.joined(separator: ",") },
            ],
            [
                "kind": "vectors", "engine": "swift-exact-batch", "dataset": dataset, "threads": threads, "count": count,
                "queries": queryCount, "ms_per_query": batchMilliseconds / Double(max(queryCount, 1)),
                "recall_at_k": Double(agreement) / Double(max(queryCount * k, 1)),
            ],
        ]
        guard !efSearch.isEmpty else { return rows }
        // The first approximate search builds the graph.
        let buildStart = clock.now
        _ = try await index.search(queryVectors[0], k: k)
        let build = milliseconds(clock.now - buildStart) / 1000
        for ef in efSearch {
            await index.setEfSearch(ef)
            var times: [Double] = []
            var found = 0
            for pass in 0..<max(passes, 1) {
                for (number, query) in queryVectors.enumerated() {
                    let start = clock.now
                    let hits = try await index.search(query, k: k)
                    times.append(milliseconds(clock.now - start))
                    if pass == 0 { found += Set(hits.map(\.id)).intersection(exactIDs[number]).count }
                }
            }
            times.sort()
            rows.append([
                "kind": "vectors", "engine": "swift-hnsw", "dataset": dataset, "threads": 1, "count": count, "ef_search": ef,
                "build_s": build, "p50_ms": percentile(times, 0.5), "p99_ms": percentile(times, 0.99), "passes": max(passes, 1),
                "recall_at_k": Double(found) / Double(max(queryCount * k, 1)),
                "peak_rss_mib": peakResidentMiB() ?? -1,
            ])
        }
        return rows
    }

    /// The process's peak resident set size (VmHWM in /proc/self/status) in MiB; `nil` where there is none.
    static func peakResidentMiB() -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kilobytes = line.split(separator: " ").dropFirst().first.flatMap { Double($0) }
            return kilobytes.map { $0 / 1024 }
        }
        return nil
    }

    /// A seeded mixture of unit vectors (``MixtureGenerator``), row-major.
    public static func mixture(count: Int, dimensions: Int, centres: Int = 64, seed: UInt64) -> [Float] {
        var source = VectorSource.mixture(count: count, dimensions: dimensions, centres: centres, seed: seed)
        return (try? source.next(rows: count, dimensions: dimensions)) ?? []
    }

    /// Reads a raw little-endian Float32 file.
    public static func readFloats(_ url: URL) throws -> [Float] {
        let data = try Data(contentsOf: url)
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    /// A plain-text table of the rows.
    public static func table(_ rows: [Row]) -> String {
        func number(_ value: (any Sendable)?, _ format: String) -> String {
            guard let value = value as? Double, value.isFinite else { return "" }
            return String(format: format, value)
        }
        var lines: [String] = []
        let embeds = rows.filter { $0["kind"] as? String == "embed" }
        if !embeds.isEmpty {
            lines.append("engine          threads  single p50 ms  single p99 ms  batch-64 sentences/s")
            for row in embeds {
                lines.append(
                    (row["engine"] as? String ?? "").padding(toLength: 16, withPad: " ", startingAt: 0)
                        + "\(row["threads"] ?? "")".padding(toLength: 9, withPad: " ", startingAt: 0)
                        + number(row["single_p50_ms"], "%.2f").padding(toLength: 15, withPad: " ", startingAt: 0)
                        + number(row["single_p99_ms"], "%.2f").padding(toLength: 15, withPad: " ", startingAt: 0)
                        + number(row["batch64_sentences_per_s"], "%.1f"))
            }
        }
        let searches = rows.filter { $0["kind"] as? String == "vectors" }
        if !searches.isEmpty {
            if !lines.isEmpty { lines.append("") }
            lines.append("engine             vectors  threads  ef   p50 ms   p99 ms   ms/query(batch)  build s  recall@k")
            for row in searches {
                lines.append(
                    (row["engine"] as? String ?? "").padding(toLength: 19, withPad: " ", startingAt: 0)
                        + "\(row["count"] ?? "")".padding(toLength: 9, withPad: " ", startingAt: 0)
                        + "\(row["threads"] ?? "")".padding(toLength: 9, withPad: " ", startingAt: 0)
                        + "\(row["ef_search"] ?? "")".padding(toLength: 5, withPad: " ", startingAt: 0)
                        + number(row["p50_ms"], "%.3f").padding(toLength: 9, withPad: " ", startingAt: 0)
                        + number(row["p99_ms"], "%.3f").padding(toLength: 9, withPad: " ", startingAt: 0)
                        + number(row["ms_per_query"], "%.3f").padding(toLength: 17, withPad: " ", startingAt: 0)
                        + number(row["build_s"], "%.1f").padding(toLength: 9, withPad: " ", startingAt: 0)
                        + number(row["recall_at_k"], "%.3f"))
            }
        }
        return lines.joined(separator: "\n")
    }

    /// JSON text of one row (sorted keys).
    public static func json(_ row: Row) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: row, options: [.sortedKeys]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Where benchmark vectors come from, read or generated a chunk of rows at a time.
public enum VectorSource {
    /// A raw little-endian Float32 file, row-major.
    case file(FileHandle)
    /// A seeded mixture of unit vectors (``MixtureGenerator``).
    case generated(MixtureGenerator)

    /// Streams the file at `url`.
    public static func file(_ url: URL) throws -> VectorSource {
        .file(try FileHandle(forReadingFrom: url))
    }

    public static func mixture(count: Int, dimensions: Int, centres: Int = 64, seed: UInt64) -> VectorSource {
        .generated(MixtureGenerator(count: count, dimensions: dimensions, centres: centres, seed: seed))
    }

    /// The next at most `rows` rows (row-major), or `nil` at the end.
    public mutating func next(rows: Int, dimensions: Int) throws -> [Float]? {
        switch self {
        case .file(let handle):
            guard let data = try handle.read(upToCount: rows * dimensions * 4), data.count >= dimensions * 4 else { return nil }
            return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self).prefix(data.count / (dimensions * 4) * dimensions)) }
        case .generated(var generator):
            let chunk = generator.next(rows: rows)
            self = .generated(generator)
            return chunk.isEmpty ? nil : chunk
        }
    }
}

/// A seeded mixture of flat Gaussians (bench/neural.py draws the same family with numpy): each vector is
/// one of `centres` random centres, plus a Gaussian in that centre's own 16-dimensional subspace, plus a
/// little isotropic noise, normalised. The low intrinsic dimension makes nearest neighbours meaningful, as
/// in real embeddings (isotropic high-dimensional noise puts every point about as far from all others).
public struct MixtureGenerator {
    static let rank = 16
    let dimensions: Int
    private var remaining: Int
    private var generator: SplitMix64
    private let means: [Float]
    /// `centres × rank × dimensions` directions.
    private let bases: [Float]
    private let centres: Int

    init(count: Int, dimensions: Int, centres: Int, seed: UInt64) {
        self.dimensions = dimensions
        self.centres = centres
        remaining = count
        generator = SplitMix64(state: seed)
        let scale = 1 / Float(dimensions).squareRoot()
        var means: [Float] = []
        means.reserveCapacity(centres * dimensions)
        for _ in 0..<centres * dimensions { means.append(Self.gaussian(&generator) * scale) }
        var bases: [Float] = []
        bases.reserveCapacity(centres * Self.rank * dimensions)
        for _ in 0..<centres * Self.rank * dimensions { bases.append(Self.gaussian(&generator) * scale) }
        self.means = means
        self.bases = bases
    }

    private static func gaussian(_ generator: inout SplitMix64) -> Float {
        let u = Float.random(in: Float.ulpOfOne...1, using: &generator)
        let v = Float.random(in: 0...1, using: &generator)
        return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
    }

    mutating func next(rows: Int) -> [Float] {
        let n = min(rows, remaining)
        remaining -= n
        let scale = 1 / Float(dimensions).squareRoot()
        var out = [Float](repeating: 0, count: n * dimensions)
        var z = [Float](repeating: 0, count: Self.rank)
        for row in 0..<n {
            let centre = Int.random(in: 0..<centres, using: &generator)
            for r in 0..<Self.rank { z[r] = 0.5 * Self.gaussian(&generator) }
            var norm: Float = 0
            for k in 0..<dimensions {
                var value = means[centre * dimensions + k] + 0.05 * Self.gaussian(&generator) * scale
                for r in 0..<Self.rank { value += z[r] * bases[(centre * Self.rank + r) * dimensions + k] }
                out[row * dimensions + k] = value
                norm += value * value
            }
            let inverse = 1 / max(norm.squareRoot(), 1e-12)
            for k in 0..<dimensions { out[row * dimensions + k] *= inverse }
        }
        return out
    }
}
