import AerieCore
import AerieModels
import Foundation

/// Sentence embeddings from an installed sentence-transformers BERT model (all-MiniLM-L6-v2):
/// WordPiece ids → BERT forward pass → mean pooling over the real tokens → L2 normalisation.
///
/// Immutable once loaded, so one encoder can serve concurrent callers. Loading reads ~90 MB of
/// weights; keep the encoder for the life of the process (or of a function's warm state).
public struct SentenceEncoder: SentenceEmbedder {
    /// The model's upstream name, as printed by `aerie embed`.
    public let modelName: String
    public let tokenizer: WordPieceTokenizer
    public let model: BertModel
    /// Batches are cut into chunks of at most this many tokens to bound memory.
    public var maxTokensPerChunk: Int = 16_384

    /// The embedding size (384 for MiniLM).
    public var dimensions: Int { model.configuration.hiddenSize }

    /// Loads an installed model directory (`config.json`, `vocab.txt`, `model.safetensors`,
    /// `sentence_bert_config.json`, `1_Pooling/config.json`).
    public init(directory: URL, modelName: String = ModelSpec.minilm.displayName) throws {
        let configuration = try BertConfiguration(contentsOf: directory.appendingPathComponent("config.json"))
        self.modelName = modelName
        self.tokenizer = try Self.tokenizer(in: directory, configuration: configuration)
        self.model = try BertModel(
            configuration: configuration,
            weights: SafetensorsFile(url: directory.appendingPathComponent("model.safetensors")))
    }

    /// The model directory's tokenizer: `vocab.txt` with the casing, accent and CJK settings of
    /// `tokenizer_config.json` and the length limit of `sentence_bert_config.json`; refuses a pooling
    /// other than the mean.
    static func tokenizer(in directory: URL, configuration: BertConfiguration) throws -> WordPieceTokenizer {
        var tokenizerConfiguration = WordPieceTokenizer.Configuration()
        tokenizerConfiguration.maxLength = min(configuration.maxPositionEmbeddings, 512)
        if let data = try? Data(contentsOf: directory.appendingPathComponent("sentence_bert_config.json")),
            let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let maxLength = (json["max_seq_length"] as? NSNumber)?.intValue
        {
            tokenizerConfiguration.maxLength = min(maxLength, configuration.maxPositionEmbeddings)
        }
        if let data = try? Data(contentsOf: directory.appendingPathComponent("tokenizer_config.json")),
            let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        {
            if let lowercase = json["do_lower_case"] as? Bool { tokenizerConfiguration.lowercase = lowercase }
            if let strip = json["strip_accents"] as? Bool { tokenizerConfiguration.stripAccents = strip }
            if let chinese = json["tokenize_chinese_chars"] as? Bool { tokenizerConfiguration.handleChineseChars = chinese }
        }
        if let data = try? Data(contentsOf: directory.appendingPathComponent("1_Pooling/config.json")),
            let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            json["pooling_mode_mean_tokens"] as? Bool == false
        {
            throw AerieError.invalid("\(directory.path) asks for a pooling other than the mean of the tokens, which is the only one supported.")
        }
        return try WordPieceTokenizer(
            vocabularyFile: directory.appendingPathComponent("vocab.txt"), configuration: tokenizerConfiguration)
    }

    /// Loads an installed model from a store; a missing model throws `not-found` naming the install command.
    public init(store: ModelStore, spec: ModelSpec = .minilm) throws {
        try self.init(directory: store.requireModel(spec), modelName: spec.displayName)
    }

    /// The unit-length embedding of one text.
    public func embed(_ text: String) -> [Float] {
        embed([text])[0]
    }

    /// The unit-length embeddings of `texts`, in order, computed in batches.
    public func embed(_ texts: [String]) -> [[Float]] {
        inBatches(texts) { embed(sequences: $0) }
    }

    /// The sentence and token embeddings of `texts`, in order, computed in batches (see ``TokenEmbeddings``).
    public func embedTokens(_ texts: [String]) -> [TokenEmbeddings] {
        inBatches(texts) { embedTokens(sequences: $0) }
    }

    /// Tokenizes `texts` and runs `body` on consecutive batches of at most `maxTokensPerChunk` tokens (a longer
    /// sequence goes alone), joining the results in order.
    private func inBatches<Result>(_ texts: [String], _ body: ([[Int32]]) -> [Result]) -> [Result] {
        let sequences = texts.map(tokenizer.encode)
        var result: [Result] = []
        result.reserveCapacity(texts.count)
        var start = 0
        while start < sequences.count {
            var end = start
            var tokens = 0
            while end < sequences.count, end == start || tokens + sequences[end].count <= maxTokensPerChunk {
                tokens += sequences[end].count
                end += 1
            }
            result += body(Array(sequences[start..<end]))
            start = end
        }
        return result
    }

    /// Sentence and token embeddings of already tokenized sequences.
    public func embedTokens(sequences: [[Int32]]) -> [TokenEmbeddings] {
        let h = dimensions
        let (states, offsets) = model.hiddenStates(sequences)
        return states.withUnsafeBufferPointer { states in
            sequences.indices.map { index in
                let n = min(sequences[index].count, model.configuration.maxPositionEmbeddings)
                return TokenEmbeddings(states: UnsafeBufferPointer(rebasing: states[(offsets[index] * h)..<((offsets[index] + n) * h)]),
                                       length: n, dimensions: h, pieces: tokenizer.innerPieces(sequences[index].prefix(n)))
            }
        }
    }

    /// Mean-pooled, L2-normalised embeddings of already tokenized sequences.
    public func embed(sequences: [[Int32]]) -> [[Float]] {
        let h = dimensions
        let (states, offsets) = model.hiddenStates(sequences)
        return sequences.enumerated().map { index, sequence in
            let n = min(sequence.count, model.configuration.maxPositionEmbeddings)
            var pooled = [Float](repeating: 0, count: h)
            guard n > 0 else { return pooled }
            states.withUnsafeBufferPointer { states in
                for t in 0..<n {
                    let row = (offsets[index] + t) * h
                    for k in 0..<h { pooled[k] += states[row + k] }
                }
            }
            var norm: Float = 0
            for k in 0..<h {
                pooled[k] /= Float(n)
                norm += pooled[k] * pooled[k]
            }
            let scale = 1 / max(norm.squareRoot(), 1e-12)
            for k in 0..<h { pooled[k] *= scale }
            return pooled
        }
    }
}
