import AerieImaging
import AerieModels
import AerieVision
import ArgumentParser
import Foundation

/// `aerie bench classifier`: the image classifier (EfficientNet-Lite0 on ONNX Runtime) on image files, one JSON line
/// per image with its top label and the milliseconds of preprocessing and inference (`make bench-gallery` runs ONNX
/// Runtime Python on the same graph and the same input tensors, dumped with --dump-inputs, beside it).
struct ClassifierBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classifier",
        abstract: "Classify JPEG/PNG/WebP files with the installed classifier; prints one JSON line per image with timings.",
        discussion: """
            Needs: aerie models install classifier; aerie models install onnxruntime.
              aerie bench classifier --threads 1 --repetitions 20 photos/*.jpg
            """
    )

    @OptionGroup var data: DataOptions
    @Option(help: "ONNX Runtime intra-op threads.") var threads = 1
    @Option(help: "Preprocessing and inference runs per image; the medians are reported.") var repetitions = 10
    @Option(help: "Write each image's 1×3×224×224 input tensor as little-endian float32 to DIR/<name>.f32.") var dumpInputs: String?
    @Argument(help: "Image files.") var images: [String]

    func validate() throws {
        guard threads > 0, repetitions > 0 else { throw ValidationError("--threads and --repetitions must be positive.") }
        guard !images.isEmpty else { throw ValidationError("Name at least one image file.") }
    }

    func run() async throws {
        let classifier = try ImageClassifier(store: ModelStore(dataDirectory: data.directory), options: ImageClassifier.Options(intraOpThreads: threads))
        let decoder = ImageDecoder()
        if let dumpInputs { try FileManager.default.createDirectory(atPath: dumpInputs, withIntermediateDirectories: true) }
        for path in images {
            let file = URL(fileURLWithPath: path)
            let image: RGBImage
            do {
                image = try decoder.decode(try Data(contentsOf: file)).image
            } catch {
                throw ValidationError("\(path): \(error)")
            }
            var input: [Float] = []
            var preprocessTimes: [Duration] = []
            for _ in 0..<repetitions {
                let clock = ContinuousClock.now
                input = try classifier.preprocessor.tensor(pixels: image.pixels, width: image.width, height: image.height)
                preprocessTimes.append(ContinuousClock.now - clock)
            }
            var times: [Duration] = []
            var logits: [Float] = []
            for _ in 0..<repetitions {
                let clock = ContinuousClock.now
                logits = try classifier.logits(input: input)
                times.append(ContinuousClock.now - clock)
            }
            let probabilities = ImageClassifier.softmax(logits)
            let best = probabilities.indices.max { probabilities[$0] < probabilities[$1] }!
            if let dumpInputs {
                let name = file.deletingPathExtension().lastPathComponent
                try input.withUnsafeBufferPointer { Data(buffer: $0) }.write(to: URL(fileURLWithPath: dumpInputs).appendingPathComponent("\(name).f32"))
            }
            let median = times.sorted()[times.count / 2]
            let preprocess = preprocessTimes.sorted()[preprocessTimes.count / 2]
            let row: [String: Any] = [
                "image": file.lastPathComponent, "index": best, "label": classifier.labels[best], "score": Double(probabilities[best]),
                "ms_preprocess": milliseconds(preprocess), "ms_infer": milliseconds(median), "threads": threads,
            ]
            let json = try JSONSerialization.data(withJSONObject: row, options: [.sortedKeys])
            print(String(decoding: json, as: UTF8.self))
        }
    }

    private func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }
}
