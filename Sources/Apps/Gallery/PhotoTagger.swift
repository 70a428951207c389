import AerieImaging

/// What tags a photo: the top labels of an image classifier with their scores (EfficientNet-Lite0 on ImageNet's
/// 1,000 classes in the app; tests may pass their own).
protocol PhotoTagger: Sendable {
    /// The best `count` labels of `image`, best first, each with its probability.
    func tags(for image: RGBImage, count: Int) throws -> [PhotoRecord.Tag]
}
