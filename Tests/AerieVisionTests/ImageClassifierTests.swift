import AerieCore
import AerieModels
import AerieTesting
import AerieVision
import Foundation
import Testing

/// The installed EfficientNet-Lite0 (`aerie models install classifier`, the graph built in Swift) on ONNX Runtime.
@Suite("Image classifier")
struct ImageClassifierTests {
    struct Parity: Decodable {
        var onnxruntime: String
        var model_sha256: String
        var logits: [Float]
    }

    /// The parity input of scripts/make-classifier-fixtures.py: (k − 127) / 128 with k = 7919 i mod 256.
    static func parityInput() -> [Float] {
        (0..<3 * 224 * 224).map { Float((($0 * 7919) % 256) - 127) / 128 }
    }

    /// The same input through Swift and ONNX Runtime's C API here, and through ONNX Runtime's Python package
    /// on the same `model.onnx` (parity.json): the logits agree to float32 rounding.
    @Test func logitsMatchOnnxRuntimePython() throws {
        let classifier = try VisionFixtures.classifier()
        let parity = try JSONDecoder().decode(Parity.self, from: Data(contentsOf: VisionFixtures.url("parity.json")))
        let model = try SharedModels.directory(of: .classifier).appendingPathComponent("model.onnx")
        try #require(
            try ModelStore.sha256(of: model) == parity.model_sha256,
            "model.onnx is not the graph parity.json was made with: run scripts/make-classifier-fixtures.py after changing EfficientNetLiteGraph.")
        let logits = try classifier.logits(input: Self.parityInput())
        #expect(logits.count == 1000 && parity.logits.count == 1000)
        let difference = zip(logits, parity.logits).map { abs($0 - $1) }.max() ?? .infinity
        #expect(difference <= 1e-4, "largest logit difference \(difference)")
    }

    @Test func chelseaIsACat() throws {
        let image = try VisionFixtures.ppm("chelsea.ppm")
        let labels = try VisionFixtures.classifier().classify(pixels: image.pixels, width: image.width, height: image.height)
        #expect(Set(labels.map(\.label)) == ["tiger cat", "Egyptian cat", "tabby"], "\(labels)")
        #expect(labels.map(\.score).reduce(0, +) > 0.85, "\(labels)")
        #expect(labels.map(\.score) == labels.map(\.score).sorted(by: >))
    }

    @Test func coffeeIsEspresso() throws {
        let image = try VisionFixtures.ppm("coffee.ppm")
        let labels = try VisionFixtures.classifier().classify(pixels: image.pixels, width: image.width, height: image.height, top: 5)
        #expect(labels.count == 5)
        #expect(labels.first?.label == "espresso" && labels.first?.index == 967, "\(labels)")
        #expect((labels.first?.score ?? 0) > 0.9, "\(labels)")
    }

    @Test func badInputIsAClearError() throws {
        let classifier = try VisionFixtures.classifier()
        let wrong = #expect(throws: AerieError.self) { try classifier.classify(pixels: [1, 2, 3, 4], width: 2, height: 2) }
        #expect(wrong?.code == .invalidArgument)
        #expect(throws: AerieError.self) { try classifier.classify(pixels: [1, 2, 3], width: 1, height: 1, top: 0) }

        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("aerie-empty-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: empty) }
        let missing = #expect(throws: AerieError.self) { try ImageClassifier(store: ModelStore(dataDirectory: empty)) }
        #expect(missing?.code == .notFound)
        #expect(missing?.message.contains("aerie models install classifier") == true)
    }

    @Test func softmaxIsStable() {
        let probabilities = ImageClassifier.softmax([1000, 1000, -1000])
        #expect(probabilities == [0.5, 0.5, 0])
        #expect(ImageClassifier.softmax([]) == [])
    }
}
