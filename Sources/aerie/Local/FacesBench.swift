import AerieCore
import AerieFaces
import AerieImaging
import AerieModels
import AerieVectors
import ArgumentParser
import Foundation

/// `aerie bench faces`: the face engine on image files (HOG detection with one upsampling, then the 128-d embedding of
/// each face), and 1:N search of one user's enrolled faces in the embedded vector store at several sizes. One JSON
/// line per image and per size; `make bench-faces` runs the `face_recognition` Python package (same dlib) beside it.
struct FacesBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "faces",
        abstract: "Time face detection, embedding and 1:N search; prints one JSON line per image and per search size.",
        discussion: """
            Needs: aerie models install faces.
              aerie bench faces --repetitions 10 --search-sizes 10000,100000 photos/*.jpg
            """
    )

    @OptionGroup var data: DataOptions
    @Option(help: "Runs per image; the medians are reported.") var repetitions = 10
    @Option(help: "HOG upsamplings.") var upsample = 1
    @Option(help: "Enrolled-face counts to time 1:N search at (comma-separated; empty for none).") var searchSizes = "10000,100000"
    @Option(help: "Searches per size.") var searches = 200
    @Flag(help: "Also print each face's box and embedding (scripts/faces-threshold.py measures the threshold from them).") var embeddings = false
    @Argument(help: "Image files.") var images: [String] = []

    func validate() throws {
        guard repetitions > 0, searches > 0 else { throw ValidationError("--repetitions and --searches must be positive.") }
        guard (0...FaceEngine.maxUpsample).contains(upsample) else { throw ValidationError("--upsample must be 0 to \(FaceEngine.maxUpsample).") }
        _ = try sizes()
    }

    private func sizes() throws -> [Int] {
        try searchSizes.split(separator: ",").map {
            guard let size = Int($0.trimmingCharacters(in: .whitespaces)), size > 0 else { throw ValidationError("--search-sizes takes positive counts.") }
            return size
        }
    }

    func run() async throws {
        let engine = try FaceEngine(store: ModelStore(dataDirectory: data.directory), options: FaceEngine.Options(upsample: upsample))
        var lastEmbeddings: [[Float]] = []
        for path in images {
            let image: RGBImage
            do {
                image = try ImageDecoder().decode(try Data(contentsOf: URL(fileURLWithPath: path))).image
            } catch {
                throw ValidationError("\(path): \(error)")
            }
            var detectTimes: [Double] = [], embedTimes: [Double] = []
            var faces: [DetectedFace] = []
            lastEmbeddings = []
            for _ in 0..<repetitions {
                let start = ContinuousClock.now
                faces = try engine.detect(pixels: image.pixels, width: image.width, height: image.height)
                detectTimes.append(Self.milliseconds(ContinuousClock.now - start))
            }
            for _ in 0..<repetitions where !faces.isEmpty {
                let start = ContinuousClock.now
                lastEmbeddings = try engine.embed(pixels: image.pixels, width: image.width, height: image.height, faces: faces)
                embedTimes.append(Self.milliseconds(ContinuousClock.now - start) / Double(faces.count))
            }
            var row: [String: Any] = ["kind": "image", "image": URL(fileURLWithPath: path).lastPathComponent, "width": image.width, "height": image.height,
                                      "faces": faces.count, "ms_detect": Self.median(detectTimes),
                                      "ms_embed_per_face": faces.isEmpty ? NSNull() : Self.median(embedTimes)]
            if embeddings {
                row["found"] = zip(faces, lastEmbeddings).map { face, embedding in
                    ["box": [face.box.x, face.box.y, face.box.width, face.box.height], "embedding": embedding.map(Double.init)] as [String: Any]
                }
            }
            try Self.emit(row)
        }
        for size in try sizes() {
            try await search(size: size, query: lastEmbeddings.first)
        }
    }

    /// `size` enrolled faces of one user (and as many of another, which the filter must skip) in the file vector
    /// store: random points around real-looking embeddings, then `searches` exact k=1 searches with the owner filter, as
    /// recognize runs them.
    private func search(size: Int, query: [Float]?) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-faces-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try FileVectorStore(directory: directory)
        let vectors = try await store.ensureCollection("faces_bench", dimensions: FaceEngine.embeddingSize, metric: .euclidean)
        var random = SplitMix64(state: UInt64(size))
        func point() -> [Float] {
            (0..<FaceEngine.embeddingSize).map { _ in Float(Double(random.next() % 10_000) / 10_000 - 0.5) * 0.18 }
        }
        let loadStart = ContinuousClock.now
        for batchStart in stride(from: 0, to: 2 * size, by: 5000) {
            let records = (batchStart..<min(2 * size, batchStart + 5000)).map { index in
                VectorRecord(id: "f\(index)", vector: point(), metadata: ["owner": .string(index % 2 == 0 ? "ann" : "bob"), "person": .string("p\(index % 997)")])
            }
            try await vectors.upsert(records)
        }
        let loadMs = Self.milliseconds(ContinuousClock.now - loadStart)
        var times: [Double] = []
        for index in 0..<searches {
            let probe = index == 0 ? (query ?? point()) : point()
            let start = ContinuousClock.now
            _ = try await vectors.search(probe, k: 1, filter: .equals("owner", .string("ann")), exact: true)
            times.append(Self.milliseconds(ContinuousClock.now - start))
        }
        let sorted = times.sorted()
        try Self.emit(["kind": "search", "enrolled": size, "others": size, "searches": searches, "ms_load": loadMs,
                       "ms_p50": sorted[sorted.count / 2], "ms_p99": sorted[min(sorted.count - 1, sorted.count * 99 / 100)]])
    }

    static func emit(_ row: [String: Any]) throws {
        print(String(decoding: try JSONSerialization.data(withJSONObject: row, options: [.sortedKeys]), as: UTF8.self))
    }

    static func median(_ values: [Double]) -> Double {
        values.sorted()[values.count / 2]
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }
}
