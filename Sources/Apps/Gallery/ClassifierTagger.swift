import AerieImaging
import AerieVision

/// The app's tagger: EfficientNet-Lite0 (``ImageClassifier``, installed by `aerie models install classifier`).
struct ClassifierTagger: PhotoTagger {
    let classifier: ImageClassifier

    func tags(for image: RGBImage, count: Int) throws -> [PhotoRecord.Tag] {
        try classifier.classify(pixels: image.pixels, width: image.width, height: image.height, top: count)
            .map { PhotoRecord.Tag(label: $0.label, score: Double($0.score)) }
    }
}
