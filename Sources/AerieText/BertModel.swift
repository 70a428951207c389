import AerieCore
import AerieModels
import COpenBLAS
import Foundation

/// A BERT encoder's weights and its forward pass on OpenBLAS (`cblas_sgemm` for every dense layer).
///
/// Sequences of a batch are packed one after another rather than padded: the dense layers run on all
/// tokens at once and attention runs per sequence over its own tokens, which is what the padded model
/// computes with an attention mask (masked scores become exactly zero after the softmax) without the
/// wasted work on padding.
public struct BertModel: Sendable {
    struct Layer: Sendable {
        /// Query, key and value weights stacked: `3·hidden × hidden`, and their biases.
        var qkvWeight: [Float]
        var qkvBias: [Float]
        var attentionOutputWeight: [Float]
        var attentionOutputBias: [Float]
        var attentionNormWeight: [Float]
        var attentionNormBias: [Float]
        var intermediateWeight: [Float]
        var intermediateBias: [Float]
        var outputWeight: [Float]
        var outputBias: [Float]
        var outputNormWeight: [Float]
        var outputNormBias: [Float]
    }

    public let configuration: BertConfiguration
    let wordEmbeddings: [Float]
    let positionEmbeddings: [Float]
    let tokenTypeEmbeddings: [Float]
    let embeddingNormWeight: [Float]
    let embeddingNormBias: [Float]
    let layers: [Layer]

    /// Loads the weights named as in Hugging Face's `BertModel` from a safetensors file.
    public init(configuration: BertConfiguration, weights file: SafetensorsFile) throws {
        let c = configuration
        let h = c.hiddenSize
        self.configuration = configuration
        wordEmbeddings = try file.floats("embeddings.word_embeddings.weight", shape: [c.vocabSize, h])
        positionEmbeddings = try file.floats("embeddings.position_embeddings.weight", shape: [c.maxPositionEmbeddings, h])
        tokenTypeEmbeddings = try file.floats("embeddings.token_type_embeddings.weight", shape: [c.typeVocabSize, h])
        embeddingNormWeight = try file.floats("embeddings.LayerNorm.weight", shape: [h])
        embeddingNormBias = try file.floats("embeddings.LayerNorm.bias", shape: [h])
        var layers: [Layer] = []
        for index in 0..<c.numHiddenLayers {
            let p = "encoder.layer.\(index)."
            func w(_ name: String, _ shape: [Int]) throws -> [Float] { try file.floats(p + name, shape: shape) }
            layers.append(
                Layer(
                    qkvWeight: try w("attention.self.query.weight", [h, h]) + w("attention.self.key.weight", [h, h])
                        + w("attention.self.value.weight", [h, h]),
                    qkvBias: try w("attention.self.query.bias", [h]) + w("attention.self.key.bias", [h])
                        + w("attention.self.value.bias", [h]),
                    attentionOutputWeight: try w("attention.output.dense.weight", [h, h]),
                    attentionOutputBias: try w("attention.output.dense.bias", [h]),
                    attentionNormWeight: try w("attention.output.LayerNorm.weight", [h]),
                    attentionNormBias: try w("attention.output.LayerNorm.bias", [h]),
                    intermediateWeight: try w("intermediate.dense.weight", [c.intermediateSize, h]),
                    intermediateBias: try w("intermediate.dense.bias", [c.intermediateSize]),
                    outputWeight: try w("output.dense.weight", [h, c.intermediateSize]),
                    outputBias: try w("output.dense.bias", [h]),
                    outputNormWeight: try w("output.LayerNorm.weight", [h]),
                    outputNormBias: try w("output.LayerNorm.bias", [h])))
        }
        self.layers = layers
    }

    /// The last hidden states of `sequences` (token ids, each at most `max_position_embeddings` long),
    /// packed: row `offsets[s] + t` of the returned `tokens × hidden` matrix is token `t` of sequence `s`.
    public func hiddenStates(_ sequences: [[Int32]]) -> (states: [Float], offsets: [Int]) {
        let c = configuration
        let h = c.hiddenSize
        let heads = c.numAttentionHeads
        let d = c.headSize
        let inner = c.intermediateSize
        var offsets: [Int] = []
        var tokens = 0
        for sequence in sequences {
            offsets.append(tokens)
            tokens += min(sequence.count, c.maxPositionEmbeddings)
        }
        guard tokens > 0 else { return ([], offsets) }
        let longest = sequences.map { min($0.count, c.maxPositionEmbeddings) }.max() ?? 0
        let eps = c.layerNormEps
        let scale = 1 / Float(d).squareRoot()

        var x = [Float](repeating: 0, count: tokens * h)
        var qkv = [Float](repeating: 0, count: tokens * 3 * h)
        var context = [Float](repeating: 0, count: tokens * h)
        var scratch = [Float](repeating: 0, count: tokens * h)
        var intermediate = [Float](repeating: 0, count: tokens * inner)
        var scores = [Float](repeating: 0, count: longest * longest)

        // Embeddings: word + position + token type 0, then LayerNorm.
        x.withUnsafeMutableBufferPointer { x in
            wordEmbeddings.withUnsafeBufferPointer { words in
                positionEmbeddings.withUnsafeBufferPointer { positions in
                    tokenTypeEmbeddings.withUnsafeBufferPointer { types in
                        for (s, sequence) in sequences.enumerated() {
                            for t in 0..<min(sequence.count, c.maxPositionEmbeddings) {
                                let id = min(max(Int(sequence[t]), 0), c.vocabSize - 1)
                                let row = (offsets[s] + t) * h
                                for k in 0..<h {
                                    x[row + k] = words[id * h + k] + positions[t * h + k] + types[k]
                                }
                            }
                        }
                    }
                }
            }
            Self.layerNorm(x, rows: tokens, width: h, weight: embeddingNormWeight, bias: embeddingNormBias, eps: eps)
        }

        for layer in layers {
            // Q, K, V in one product: tokens × 3h.
            Self.dense(x, rows: tokens, inputs: h, weight: layer.qkvWeight, bias: layer.qkvBias, outputs: 3 * h, into: &qkv)
            // Attention per sequence and head.
            qkv.withUnsafeBufferPointer { qkv in
                context.withUnsafeMutableBufferPointer { context in
                    scores.withUnsafeMutableBufferPointer { scores in
                        guard let q = qkv.baseAddress, let out = context.baseAddress, let s = scores.baseAddress else { return }
                        for (index, sequence) in sequences.enumerated() {
                            let n = min(sequence.count, c.maxPositionEmbeddings)
                            let base = offsets[index]
                            for head in 0..<heads {
                                let query = q + base * 3 * h + head * d
                                let key = query + h
                                let value = query + 2 * h
                                cblas_sgemm(
                                    CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(n), Int32(d),
                                    scale, query, Int32(3 * h), key, Int32(3 * h), 0, s, Int32(n))
                                Self.softmaxRows(s, rows: n, width: n)
                                cblas_sgemm(
                                    CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(d), Int32(n),
                                    1, s, Int32(n), value, Int32(3 * h), 0, out + base * h + head * d, Int32(h))
                            }
                        }
                    }
                }
            }
            // Attention output, residual, LayerNorm.
            Self.dense(context, rows: tokens, inputs: h, weight: layer.attentionOutputWeight, bias: layer.attentionOutputBias, outputs: h, into: &scratch)
            Self.addResidualAndNormalize(&x, scratch, rows: tokens, width: h, weight: layer.attentionNormWeight, bias: layer.attentionNormBias, eps: eps)
            // Feed-forward: GELU(x·Wᵢᵀ + bᵢ)·Wₒᵀ + bₒ, residual, LayerNorm.
            Self.dense(x, rows: tokens, inputs: h, weight: layer.intermediateWeight, bias: layer.intermediateBias, outputs: inner, into: &intermediate)
            intermediate.withUnsafeMutableBufferPointer { values in
                for index in values.indices {
                    let v = values[index]
                    values[index] = 0.5 * v * (1 + erf(v * 0.70710678118654752))
                }
            }
            Self.dense(intermediate, rows: tokens, inputs: inner, weight: layer.outputWeight, bias: layer.outputBias, outputs: h, into: &scratch)
            Self.addResidualAndNormalize(&x, scratch, rows: tokens, width: h, weight: layer.outputNormWeight, bias: layer.outputNormBias, eps: eps)
        }
        return (x, offsets)
    }

    /// `output = input · weightᵀ + bias` for a row-major `rows × inputs` input and `outputs × inputs` weight.
    static func dense(_ input: [Float], rows: Int, inputs: Int, weight: [Float], bias: [Float], outputs: Int, into output: inout [Float]) {
        output.withUnsafeMutableBufferPointer { out in
            guard let o = out.baseAddress else { return }
            for row in 0..<rows {
                (o + row * outputs).update(from: bias, count: outputs)
            }
            input.withUnsafeBufferPointer { a in
                weight.withUnsafeBufferPointer { w in
                    cblas_sgemm(
                        CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outputs), Int32(inputs),
                        1, a.baseAddress, Int32(inputs), w.baseAddress, Int32(inputs), 1, o, Int32(outputs))
                }
            }
        }
    }

    /// `x = LayerNorm(x + y)`.
    static func addResidualAndNormalize(_ x: inout [Float], _ y: [Float], rows: Int, width: Int, weight: [Float], bias: [Float], eps: Float) {
        x.withUnsafeMutableBufferPointer { x in
            y.withUnsafeBufferPointer { y in
                for index in 0..<rows * width { x[index] += y[index] }
            }
            layerNorm(x, rows: rows, width: width, weight: weight, bias: bias, eps: eps)
        }
    }

    static func layerNorm(_ x: UnsafeMutableBufferPointer<Float>, rows: Int, width: Int, weight: [Float], bias: [Float], eps: Float) {
        weight.withUnsafeBufferPointer { g in
            bias.withUnsafeBufferPointer { b in
                for row in 0..<rows {
                    let start = row * width
                    var mean: Float = 0
                    for k in 0..<width { mean += x[start + k] }
                    mean /= Float(width)
                    var variance: Float = 0
                    for k in 0..<width {
                        let centered = x[start + k] - mean
                        variance += centered * centered
                    }
                    variance /= Float(width)
                    let inverse = 1 / (variance + eps).squareRoot()
                    for k in 0..<width {
                        x[start + k] = (x[start + k] - mean) * inverse * g[k] + b[k]
                    }
                }
            }
        }
    }

    static func softmaxRows(_ s: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
        for row in 0..<rows {
            let r = s + row * width
            var largest = -Float.infinity
            for k in 0..<width { largest = max(largest, r[k]) }
            var sum: Float = 0
            for k in 0..<width {
                let e = exp(r[k] - largest)
                r[k] = e
                sum += e
            }
            let inverse = 1 / sum
            for k in 0..<width { r[k] *= inverse }
        }
    }
}
