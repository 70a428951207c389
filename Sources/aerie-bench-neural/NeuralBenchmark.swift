import AerieModels
import AerieText
import Foundation
import NeuralBenchmarks

/// The Swift side of `make bench-neural` (bench/neural.py runs it next to numpy, ONNX Runtime Python
/// and faiss). Prints one JSON object per measurement on standard output.
///
///     aerie-bench-neural embed DATA_DIR THREADS      # OPENBLAS_NUM_THREADS should equal THREADS
///     aerie-bench-neural vectors VECTORS.f32 QUERIES.f32 DIMENSIONS K THREADS EF[,EF…] DATASET
@main
struct NeuralBenchmark {
    static func main() async throws {
        let arguments = CommandLine.arguments
        let usage = "usage: aerie-bench-neural embed DATA THREADS | vectors VECTORS QUERIES DIM K THREADS EF,EF DATASET\n"
        guard arguments.count >= 4 else {
            FileHandle.standardError.write(Data(usage.utf8))
            exit(2)
        }
        let rows: [NeuralBenchmarks.Row]
        switch arguments[1] {
        case "embed":
            rows = try NeuralBenchmarks.embedding(store: ModelStore(dataDirectory: URL(fileURLWithPath: arguments[2])), threads: Int(arguments[3]) ?? 1)
        case "vectors" where arguments.count >= 9:
            rows = try await NeuralBenchmarks.vectors(
                base: .file(URL(fileURLWithPath: arguments[2])),
                queries: NeuralBenchmarks.readFloats(URL(fileURLWithPath: arguments[3])),
                dimensions: Int(arguments[4]) ?? 384, k: Int(arguments[5]) ?? 10, threads: Int(arguments[6]) ?? 1,
                efSearch: arguments[7].split(separator: ",").compactMap { Int($0) }, dataset: arguments[8])
        default:
            FileHandle.standardError.write(Data(usage.utf8))
            exit(2)
        }
        for row in rows { print(NeuralBenchmarks.json(row)) }
    }
}
