import AerieCore
import Foundation

/// The fields of a Hugging Face BERT `config.json` that the encoder uses.
public struct BertConfiguration: Sendable, Hashable, Codable {
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var intermediateSize: Int
    public var maxPositionEmbeddings: Int
    public var typeVocabSize: Int
    public var vocabSize: Int
    public var layerNormEps: Float
    /// Only `gelu` (the exact, erf-based GELU) is supported.
    public var hiddenAct: String

    enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size"
        case numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads"
        case intermediateSize = "intermediate_size"
        case maxPositionEmbeddings = "max_position_embeddings"
        case typeVocabSize = "type_vocab_size"
        case vocabSize = "vocab_size"
        case layerNormEps = "layer_norm_eps"
        case hiddenAct = "hidden_act"
    }

    /// The size of one attention head.
    public var headSize: Int { hiddenSize / numAttentionHeads }

    /// Reads `config.json`, refusing shapes and activations the encoder cannot run.
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw AerieError.notFound("Cannot read \(url.path): \(error.localizedDescription). Install the model with `aerie models install minilm`.")
        }
        do {
            self = try JSONDecoder().decode(BertConfiguration.self, from: data)
        } catch {
            throw AerieError.invalid("\(url.path) is not a BERT configuration (\(error)); reinstall the model with `aerie models install minilm --force`.")
        }
        guard hiddenAct == "gelu" else {
            throw AerieError.invalid("\(url.path): hidden_act \(hiddenAct) is not supported (only gelu).")
        }
        guard numAttentionHeads > 0, hiddenSize % numAttentionHeads == 0 else {
            throw AerieError.invalid("\(url.path): hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(numAttentionHeads).")
        }
    }
}
