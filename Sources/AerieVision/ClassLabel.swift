/// One class an ``ImageClassifier`` sees in an image: its label (`tabby`), its index among the model's classes
/// and its softmax probability.
public struct ClassLabel: Sendable, Hashable, Codable {
    public var label: String
    /// The class's index in the model's output (ImageNet-1k order).
    public var index: Int
    /// The softmax probability, 0…1.
    public var score: Float

    public init(label: String, index: Int, score: Float) {
        self.label = label
        self.index = index
        self.score = score
    }
}
