import AerieModels
import AerieText
import ArgumentParser
import Foundation
import NeuralBenchmarks

/// `aerie bench neural`: the Swift side of the neural benchmark in process, printed as a table
/// (`make bench-neural` runs the same measurements next to numpy, ONNX Runtime Python and faiss).
struct NeuralBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "neural",
        abstract: "Sentence-embedding latency and throughput of both backends, and vector search; prints a table (or JSON lines).",
        discussion: """
            Needs: aerie models install minilm (it builds model.onnx); aerie models install onnxruntime.
            The vector part uses <data>/bench/manpages-100000.f32 when `make bench-neural` has cached it, else a
            seeded Gaussian mixture of --vectors unit vectors (d=384).
              aerie bench neural --threads 1 --vectors 20000
            """
    )

    @OptionGroup var data: DataOptions
    @Option(help: "Threads for ONNX Runtime and the exact vector search (OpenBLAS reads OPENBLAS_NUM_THREADS).") var threads = 1
    @Option(help: "Synthetic vectors when no cached real embeddings exist; 0 skips the vector part.") var vectors = 20_000
    @Option(help: "Comma-separated HNSW efSearch values.") var ef = "64,128"
    @Flag(help: "Skip the embedding part.") var noEmbed = false
    @Flag(help: "Print one JSON object per measurement instead of a table.") var json = false

    func validate() throws {
        guard threads > 0, vectors >= 0 else { throw ValidationError("--threads must be positive and --vectors not negative.") }
    }

    func run() async throws {
        var rows: [NeuralBenchmarks.Row] = []
        if !noEmbed {
            rows += try NeuralBenchmarks.embedding(store: ModelStore(dataDirectory: data.directory), threads: threads, repetitions: 100)
        }
        if vectors > 0 {
            let cached = data.directory.appendingPathComponent("bench/manpages-100000.f32")
            let cachedQueries = data.directory.appendingPathComponent("bench/manpages-100000-queries.f32")
            let base: VectorSource
            let queries: [Float]
            let dataset: String
            if FileManager.default.fileExists(atPath: cached.path), FileManager.default.fileExists(atPath: cachedQueries.path) {
                base = try .file(cached)
                queries = try NeuralBenchmarks.readFloats(cachedQueries)
                dataset = "manpages"
            } else {
                base = .mixture(count: vectors, dimensions: 384, seed: 42)
                queries = NeuralBenchmarks.mixture(count: 100, dimensions: 384, seed: 43)
                dataset = "gaussian-mixture"
            }
            rows += try await NeuralBenchmarks.vectors(
                base: base, queries: queries, dimensions: 384, k: 10, threads: threads,
                efSearch: ef.split(separator: ",").compactMap { Int($0) }, dataset: dataset)
        }
        if json {
            for var row in rows {
                row["ids"] = nil
                print(NeuralBenchmarks.json(row))
            }
        } else {
            print(NeuralBenchmarks.table(rows))
        }
    }
}
