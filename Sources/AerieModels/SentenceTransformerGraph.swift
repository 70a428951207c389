import AerieCore
import Foundation

/// The ONNX graph of a sentence-transformers BERT model (all-MiniLM-L6-v2): the encoder, mean pooling over
/// the attention mask and L2 normalisation, with the weights of `model.safetensors` as initialisers. The
/// installer writes it as `model.onnx` for AerieText's ONNX Runtime backend, so the graph needs no Python.
///
/// Inputs `input_ids` and `attention_mask` (int64, `[batch, sequence]`); outputs `sentence_embedding`
/// (float32, `[batch, hidden]`) and `token_embeddings`, the last layer's states (float32, `[batch, sequence, hidden]`,
/// padding rows included), which the Imagine cache aligns token by token. Opset 17, IR version 8. The same graph,
/// node for node, as the Python `onnx.helper` script it replaces, plus the token output.
public struct SentenceTransformerGraph: Sendable {
    /// The default-domain operator-set version the graph uses (`LayerNormalization` needs 17).
    public static let opset: Int64 = 17
    public static let irVersion: Int64 = 8

    public let configuration: BertConfiguration
    public let weights: SafetensorsFile

    /// Reads `config.json` and `model.safetensors` in `directory`.
    public init(directory: URL) throws {
        configuration = try BertConfiguration(contentsOf: directory.appendingPathComponent("config.json"))
        weights = try SafetensorsFile(url: directory.appendingPathComponent("model.safetensors"))
    }

    /// Builds the model.
    public func model() throws -> ONNXModel {
        var builder = Builder(weights: weights)
        try builder.build(configuration)
        let hidden = configuration.hiddenSize
        let graph = ONNXModel.Graph(
            name: "all-MiniLM-L6-v2", nodes: builder.nodes, initializers: builder.initializers,
            inputs: ["input_ids", "attention_mask"].map {
                ONNXModel.ValueInfo(name: $0, elementType: .int64, shape: [.parameter("batch"), .parameter("sequence")])
            },
            outputs: [
                ONNXModel.ValueInfo(name: "sentence_embedding", elementType: .float, shape: [.parameter("batch"), .value(Int64(hidden))]),
                ONNXModel.ValueInfo(
                    name: "token_embeddings", elementType: .float, shape: [.parameter("batch"), .parameter("sequence"), .value(Int64(hidden))]),
            ])
        return ONNXModel(irVersion: Self.irVersion, graph: graph, operatorSets: [.init(version: Self.opset)])
    }

    /// Collects nodes and initialisers; every value gets a fresh `<prefix>_<n>` name.
    struct Builder {
        let weights: SafetensorsFile
        var nodes: [ONNXModel.Node] = []
        var initializers: [ONNXModel.Tensor] = []
        private var counter = 0

        init(weights: SafetensorsFile) {
            self.weights = weights
        }

        mutating func name(_ prefix: String) -> String {
            counter += 1
            return "\(prefix)_\(counter)"
        }

        mutating func constant(_ values: [Float], shape: [Int], prefix: String = "c") -> String {
            let name = name(prefix)
            initializers.append(ONNXModel.Tensor(name: name, dimensions: shape, floats: values))
            return name
        }

        mutating func constant(_ values: [Int64], shape: [Int], prefix: String = "c") -> String {
            let name = name(prefix)
            initializers.append(ONNXModel.Tensor(name: name, dimensions: shape, int64s: values))
            return name
        }

        /// A float32 scalar constant.
        mutating func scalar(_ value: Float) -> String { constant([value], shape: []) }

        /// An int64 constant: a scalar, or a 1-D list with `list`.
        mutating func integers(_ values: [Int64], list: Bool = true) -> String {
            constant(values, shape: list ? [values.count] : [])
        }

        /// The weight tensor `name` with its shape from the file.
        mutating func weight(_ name: String, prefix: String? = nil) throws -> String {
            let shape = weights.tensors[name]?.shape ?? []
            return constant(try weights.floats(name), shape: shape, prefix: prefix ?? name)
        }

        mutating func node(_ op: String, _ inputs: [String], _ attributes: [ONNXModel.Attribute] = []) -> String {
            let output = name(op.lowercased())
            nodes.append(ONNXModel.Node(op, inputs: inputs, outputs: [output], attributes: attributes))
            return output
        }

        /// `x · Wᵀ + b` with the weight stored transposed (`[in, out]`) for MatMul.
        mutating func linear(_ x: String, _ prefix: String) throws -> String {
            let name = prefix + ".weight"
            guard let shape = weights.tensors[name]?.shape, shape.count == 2 else {
                throw AerieError.invalid("\(weights.url.lastPathComponent) has no 2-D \(name); is it a BERT model?")
            }
            let (rows, columns) = (shape[0], shape[1])
            let values = try weights.floats(name)
            var transposed = [Float](repeating: 0, count: values.count)
            for row in 0..<rows {
                for column in 0..<columns {
                    transposed[column * rows + row] = values[row * columns + column]
                }
            }
            let weight = constant(transposed, shape: [columns, rows], prefix: prefix + ".wT")
            let bias = constant(try weights.floats(prefix + ".bias"), shape: [rows], prefix: prefix + ".b")
            return node("Add", [node("MatMul", [x, weight]), bias])
        }

        mutating func layerNorm(_ x: String, _ prefix: String, epsilon: Float) throws -> String {
            let scale = try weight(prefix + ".weight", prefix: "c")
            let bias = try weight(prefix + ".bias", prefix: "c")
            return node("LayerNormalization", [x, scale, bias], [.init("axis", .int(-1)), .init("epsilon", .float(epsilon))])
        }

        mutating func build(_ configuration: BertConfiguration) throws {
            let hidden = configuration.hiddenSize
            let heads = configuration.numAttentionHeads
            let headSize = configuration.headSize
            let epsilon = configuration.layerNormEps

            // Embeddings: words + positions + token type 0, then LayerNorm.
            let words = node("Gather", [try weight("embeddings.word_embeddings.weight", prefix: "word_embeddings"), "input_ids"])
            let length = node("Gather", [node("Shape", ["input_ids"]), integers([1], list: false)], [.init("axis", .int(0))])
            let positions = node("Range", [integers([0], list: false), length, integers([1], list: false)])
            let positionEmbeddings = node(
                "Gather", [try weight("embeddings.position_embeddings.weight", prefix: "position_embeddings"), positions])
            let tokenTypes = try weights.floats("embeddings.token_type_embeddings.weight")
            let tokenType = constant(Array(tokenTypes.prefix(hidden)), shape: [hidden])
            var x = node("Add", [node("Add", [words, positionEmbeddings]), tokenType])
            x = try layerNorm(x, "embeddings.LayerNorm", epsilon: epsilon)

            // Additive attention mask: 0 for tokens, the float32 minimum for padding; [batch, 1, 1, sequence].
            let mask = node("Cast", ["attention_mask"], [.init("to", .int(ONNXModel.ElementType.float.rawValue))])
            var additive = node("Mul", [node("Sub", [scalar(1), mask]), scalar(-Float.greatestFiniteMagnitude)])
            additive = node("Unsqueeze", [additive, integers([1, 2])])
            let splitShape = integers([0, 0, Int64(heads), Int64(headSize)])
            let mergeShape = integers([0, 0, Int64(hidden)])
            let scale = scalar(1 / Float(headSize).squareRoot())

            for layer in 0..<configuration.numHiddenLayers {
                let p = "encoder.layer.\(layer)."
                let query = node("Transpose", [node("Reshape", [try linear(x, p + "attention.self.query"), splitShape])], [.init("perm", .ints([0, 2, 1, 3]))])
                let key = node("Transpose", [node("Reshape", [try linear(x, p + "attention.self.key"), splitShape])], [.init("perm", .ints([0, 2, 3, 1]))])
                let value = node("Transpose", [node("Reshape", [try linear(x, p + "attention.self.value"), splitShape])], [.init("perm", .ints([0, 2, 1, 3]))])
                let scores = node("Add", [node("Mul", [node("MatMul", [query, key]), scale]), additive])
                var context = node("MatMul", [node("Softmax", [scores], [.init("axis", .int(-1))]), value])
                context = node("Reshape", [node("Transpose", [context], [.init("perm", .ints([0, 2, 1, 3]))]), mergeShape])
                x = try layerNorm(node("Add", [try linear(context, p + "attention.output.dense"), x]), p + "attention.output.LayerNorm", epsilon: epsilon)
                let inner = try linear(x, p + "intermediate.dense")
                // The exact GELU: 0.5 · x · (1 + erf(x / √2)).
                let erf = node("Erf", [node("Mul", [inner, scalar(1 / Float(2).squareRoot())])])
                let gelu = node("Mul", [node("Mul", [inner, scalar(0.5)]), node("Add", [erf, scalar(1)])])
                x = try layerNorm(node("Add", [try linear(gelu, p + "output.dense"), x]), p + "output.LayerNorm", epsilon: epsilon)
            }

            // The last layer's states, for token alignment.
            nodes.append(ONNXModel.Node("Identity", inputs: [x], outputs: ["token_embeddings"]))

            // Mean pooling over the mask, then L2 normalisation.
            let mask3 = node("Unsqueeze", [mask, integers([2])])
            let summed = node("ReduceSum", [node("Mul", [x, mask3]), integers([1])], [.init("keepdims", .int(0))])
            let counts = node("Clip", [node("ReduceSum", [mask3, integers([1])], [.init("keepdims", .int(0))]), scalar(1e-9)])
            let mean = node("Div", [summed, counts])
            var norm = node("Sqrt", [node("ReduceSum", [node("Mul", [mean, mean]), integers([1])], [.init("keepdims", .int(1))])])
            norm = node("Clip", [norm, scalar(1e-12)])
            nodes.append(ONNXModel.Node("Div", inputs: [mean, norm], outputs: ["sentence_embedding"]))
        }
    }
}
