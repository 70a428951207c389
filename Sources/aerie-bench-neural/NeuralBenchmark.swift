import AerieONNX
import AerieText
import AerieVectors
import Foundation

/// The Swift side of `make bench-neural` (bench/neural.py runs it next to numpy, ONNX Runtime Python
/// and faiss). Prints one JSON object per measurement on standard output.
///
///     aerie-bench-neural embed DATA_DIR THREADS      # OPENBLAS_NUM_THREADS should equal THREADS
///     aerie-bench-neural vectors VECTORS.f32 QUERIES.f32 DIMENSIONS K
@main
struct NeuralBenchmark {
    static let clock = ContinuousClock()

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }

    static func emit(_ object: [String: Any]) {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        print(String(decoding: data, as: UTF8.self))
    }

    static func main() throws {
        let arguments = CommandLine.arguments
        guard arguments.count >= 2 else {
            FileHandle.standardError.write(Data("usage: aerie-bench-neural embed DATA THREADS | vectors VECTORS QUERIES DIM K\n".utf8))
            exit(2)
        }
        switch arguments[1] {
        case "embed": try embed(data: URL(fileURLWithPath: arguments[2]), threads: Int(arguments[3]) ?? 1)
        case "vectors":
            try vectors(vectorsFile: arguments[2], queriesFile: arguments[3], dimensions: Int(arguments[4]) ?? 384, k: Int(arguments[5]) ?? 10)
        default: exit(2)
        }
    }

    static func embed(data: URL, threads: Int) throws {
        let store = ModelStore(dataDirectory: data)
        let short = "The quick brown fox jumps over the lazy dog."
        let batch = (0..<64).map { "Sentence number \($0) talks about a cat, a dog and the weather in town today." }
        for backend in SentenceEmbedderBackend.allCases {
            let encoder = try backend.load(store: store, options: .init(intraOpThreads: threads, interOpThreads: 1))
            for _ in 0..<10 { _ = try encoder.embed([short]) }
            var times: [Double] = []
            for _ in 0..<300 {
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
            emit([
                "kind": "embed", "engine": "swift-\(backend.rawValue)", "threads": threads,
                "single_p50_ms": times[150], "single_p99_ms": times[297], "batch64_sentences_per_s": 64_000 / best,
            ])
        }
    }

    static func readFloats(_ path: String) throws -> [Float] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    static func vectors(vectorsFile: String, queriesFile: String, dimensions: Int, k: Int) throws {
        let base = try readFloats(vectorsFile)
        let queries = try readFloats(queriesFile)
        let count = base.count / dimensions
        let queryCount = queries.count / dimensions
        var configuration = VectorIndex.Configuration(dimensions: dimensions, metric: .innerProduct)
        configuration.approximate = .init(threshold: 1, m: 16, efConstruction: 100, efSearch: 64)
        let semaphore = DispatchSemaphore(value: 0)
        let box = ResultBox()
        Task {
            do {
                let index = try VectorIndex(configuration: configuration)
                var items: [(id: String, vector: [Float], metadata: [String: String])] = []
                for row in 0..<count {
                    items.append((String(row), Array(base[row * dimensions..<(row + 1) * dimensions]), [:]))
                }
                try await index.upsert(items)
                var exactTimes: [Double] = []
                var exactIDs: [[String]] = []
                for q in 0..<queryCount {
                    let query = Array(queries[q * dimensions..<(q + 1) * dimensions])
                    let start = clock.now
                    let hits = try await index.search(query, k: k, exact: true)
                    exactTimes.append(milliseconds(clock.now - start))
                    exactIDs.append(hits.map(\.id))
                }
                // The first approximate search builds the graph.
                let buildStart = clock.now
                _ = try await index.search(Array(queries[0..<dimensions]), k: k)
                let build = milliseconds(clock.now - buildStart)
                var approximateTimes: [Double] = []
                var hitsFound = 0
                for q in 0..<queryCount {
                    let query = Array(queries[q * dimensions..<(q + 1) * dimensions])
                    let start = clock.now
                    let hits = try await index.search(query, k: k)
                    approximateTimes.append(milliseconds(clock.now - start))
                    hitsFound += Set(hits.map(\.id)).intersection(exactIDs[q]).count
                }
                exactTimes.sort()
                approximateTimes.sort()
                box.lines = [
                    ["kind": "vectors", "engine": "swift-exact", "count": count, "p50_ms": exactTimes[queryCount / 2],
                     "p99_ms": exactTimes[min(queryCount - 1, queryCount * 99 / 100)], "ids": exactIDs.map { $0.joined(separator: ",") }],
                    ["kind": "vectors", "engine": "swift-hnsw", "count": count, "build_s": build / 1000,
                     "p50_ms": approximateTimes[queryCount / 2], "p99_ms": approximateTimes[min(queryCount - 1, queryCount * 99 / 100)],
                     "recall_at_k": Double(hitsFound) / Double(queryCount * k)],
                ]
            } catch {
                box.lines = [["kind": "error", "message": "\(error)"]]
            }
            semaphore.signal()
        }
        semaphore.wait()
        for line in box.lines { emit(line) }
    }
}

final class ResultBox: @unchecked Sendable {
    var lines: [[String: Any]] = []
}
