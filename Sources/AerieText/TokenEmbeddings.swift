/// A text's MiniLM embeddings at two grains: the sentence vector (mean-pooled over every token, unit length:
/// what ``SentenceEmbedder/embed(_:)`` returns) and one unit-length vector per WordPiece token from the encoder's
/// last layer, `[CLS]` and `[SEP]` left out. ``PromptMatcher`` aligns the token vectors of two prompts: a changed
/// word shows as a token without a close partner on the other side. ``pieces`` names each row's WordPiece token, so
/// that pieces can be merged back into words ("speed", "##boat" → "speedboat").
public struct TokenEmbeddings: Sendable, Hashable {
    /// The sentence embedding (unit length).
    public var sentence: [Float]
    /// `count × dimensions` floats, row-major, each row of unit length.
    public var tokens: [Float]
    /// The WordPiece token of each row (`##` marks a continuation), or empty when unknown (each row is then a word).
    public var pieces: [String]

    public var dimensions: Int { sentence.count }
    /// The number of token vectors.
    public var count: Int { dimensions == 0 ? 0 : tokens.count / dimensions }

    public init(sentence: [Float], tokens: [Float], pieces: [String] = []) {
        precondition(sentence.isEmpty || tokens.count % sentence.count == 0, "token rows of another width than the sentence vector")
        self.sentence = sentence
        self.tokens = tokens
        self.pieces = sentence.isEmpty || pieces.count == tokens.count / sentence.count ? pieces : []
    }

    /// Pools and normalises the last-layer states of one sequence: `length` rows of `dimensions` floats, `[CLS]` first
    /// and `[SEP]` last, as the encoder returns them. The sentence vector is the mean of every row (the model's pooling);
    /// the token vectors are the rows between the special tokens, each scaled to unit length. `pieces`, when given, are
    /// the WordPiece tokens of the rows between the special tokens.
    public init(states: UnsafeBufferPointer<Float>, length: Int, dimensions: Int, pieces: [String] = []) {
        precondition(states.count >= length * dimensions, "fewer states than length × dimensions")
        var pooled = [Float](repeating: 0, count: dimensions)
        for row in 0..<length {
            for k in 0..<dimensions { pooled[k] += states[row * dimensions + k] }
        }
        if length > 0 {
            for k in 0..<dimensions { pooled[k] /= Float(length) }
        }
        Self.normalize(&pooled[...])
        let inner = length > 2 ? 1..<(length - 1) : 0..<0
        var tokens = [Float](repeating: 0, count: inner.count * dimensions)
        for (out, row) in inner.enumerated() {
            for k in 0..<dimensions { tokens[out * dimensions + k] = states[row * dimensions + k] }
            Self.normalize(&tokens[(out * dimensions)..<((out + 1) * dimensions)])
        }
        self.init(sentence: pooled, tokens: tokens, pieces: pieces)
    }

    /// Token row `index`.
    public func token(_ index: Int) -> ArraySlice<Float> {
        tokens[(index * dimensions)..<((index + 1) * dimensions)]
    }

    static func normalize(_ vector: inout ArraySlice<Float>) {
        var norm: Float = 0
        for value in vector { norm += value * value }
        let scale = 1 / max(norm.squareRoot(), 1e-12)
        for index in vector.indices { vector[index] *= scale }
    }
}
