import AerieCore
import Foundation

/// The ONNX graph of EfficientNet-Lite0 from its `efficientnet_pytorch` state dict (``TorchLegacyFile``), built
/// at install so that classifying needs neither torch nor Python.
///
/// Input `pixels` (float32, `[batch, 3, 224, 224]`, RGB normalised as (x − 127) / 128); output `logits` (float32,
/// `[batch, 1000]`). The network: a 3×3 stride-2 stem of 32 channels, the 16 mobile inverted bottleneck blocks
/// of EfficientNet-B0's stages (1×1 expansion, depthwise k×k, 1×1 projection, a residual when the shape is kept),
/// a 1×1 head of 1280 channels, global average pooling and the fully connected classifier. The Lite variant has
/// ReLU6 (`Clip` 0…6) and no squeeze-and-excitation. Convolutions pad like TensorFlow's `SAME` (asymmetric at
/// stride 2: the extra row and column at the bottom and right), as `Conv2dStaticSamePadding` does for a 224-pixel
/// input; each batch norm (epsilon 1e-3) is folded into its convolution's weights and bias.
///
/// The block table is B0's; the builder checks it against every tensor shape in the file and throws on a mismatch.
public struct EfficientNetLiteGraph: Sendable {
    public static let opset: Int64 = 17
    public static let irVersion: Int64 = 8
    /// The input's side in pixels (the SAME padding is computed for it).
    public static let imageSize = 224
    public static let batchNormEpsilon = 1e-3

    /// One stage of EfficientNet-B0: `repeats` blocks, the first with `stride`.
    struct Stage {
        var repeats: Int
        var kernel: Int
        var stride: Int
        var expansion: Int
        var outputChannels: Int
    }

    static let stages = [
        Stage(repeats: 1, kernel: 3, stride: 1, expansion: 1, outputChannels: 16),
        Stage(repeats: 2, kernel: 3, stride: 2, expansion: 6, outputChannels: 24),
        Stage(repeats: 2, kernel: 5, stride: 2, expansion: 6, outputChannels: 40),
        Stage(repeats: 3, kernel: 3, stride: 2, expansion: 6, outputChannels: 80),
        Stage(repeats: 3, kernel: 5, stride: 1, expansion: 6, outputChannels: 112),
        Stage(repeats: 4, kernel: 5, stride: 2, expansion: 6, outputChannels: 192),
        Stage(repeats: 1, kernel: 3, stride: 1, expansion: 6, outputChannels: 320),
    ]
    static let stemChannels = 32
    static let headChannels = 1280

    public let weights: TorchLegacyFile

    public init(weights: TorchLegacyFile) {
        self.weights = weights
    }

    /// Builds the model.
    public func model() throws -> ONNXModel {
        var builder = Builder(weights: weights)
        let logits = try builder.build()
        builder.nodes.append(ONNXModel.Node("Identity", inputs: [logits], outputs: ["logits"]))
        let size = Int64(Self.imageSize)
        let graph = ONNXModel.Graph(
            name: "efficientnet-lite0", nodes: builder.nodes, initializers: builder.initializers,
            inputs: [ONNXModel.ValueInfo(name: "pixels", elementType: .float, shape: [.parameter("batch"), .value(3), .value(size), .value(size)])],
            outputs: [ONNXModel.ValueInfo(name: "logits", elementType: .float, shape: [.parameter("batch"), .value(Int64(builder.classes))])])
        return ONNXModel(irVersion: Self.irVersion, graph: graph, operatorSets: [.init(version: Self.opset)])
    }

    /// TensorFlow `SAME` padding of one spatial dimension: `(before, after)`, the odd pixel after.
    static func samePadding(size: Int, kernel: Int, stride: Int) -> (before: Int, after: Int) {
        let output = (size + stride - 1) / stride
        let total = max((output - 1) * stride + kernel - size, 0)
        return (total / 2, total - total / 2)
    }

    struct Builder {
        let weights: TorchLegacyFile
        var nodes: [ONNXModel.Node] = []
        var initializers: [ONNXModel.Tensor] = []
        /// The side of the current feature map.
        var size = EfficientNetLiteGraph.imageSize
        var classes = 0
        private var counter = 0

        init(weights: TorchLegacyFile) {
            self.weights = weights
        }

        mutating func name(_ prefix: String) -> String {
            counter += 1
            return "\(prefix)_\(counter)"
        }

        mutating func node(_ op: String, _ inputs: [String], _ attributes: [ONNXModel.Attribute] = []) -> String {
            let output = name(op.lowercased())
            nodes.append(ONNXModel.Node(op, inputs: inputs, outputs: [output], attributes: attributes))
            return output
        }

        mutating func constant(_ name: String, _ values: [Float], shape: [Int]) -> String {
            initializers.append(ONNXModel.Tensor(name: name, dimensions: shape, floats: values))
            return name
        }

        /// The shape of `name` in the file, checked against `expected`.
        func shape(_ name: String, expected: [Int]) throws -> [Int] {
            guard let shape = weights.tensors[name]?.shape else {
                throw AerieError.invalid("\(weights.url.lastPathComponent) has no \(name); is it an efficientnet_pytorch EfficientNet-Lite0 state dict?")
            }
            guard shape == expected else {
                throw AerieError.invalid(
                    "\(name) in \(weights.url.lastPathComponent) has shape \(shape), expected \(expected) for EfficientNet-Lite0.")
            }
            return shape
        }

        /// `convolution` (no bias) then the batch norm `norm`, folded into one `Conv` with TensorFlow SAME padding.
        mutating func convolution(
            _ x: String, _ convolution: String, norm: String, input: Int, output: Int, kernel: Int, stride: Int = 1, depthwise: Bool = false
        ) throws -> String {
            let weightName = convolution + ".weight"
            _ = try shape(weightName, expected: [output, depthwise ? 1 : input, kernel, kernel])
            var weight = try weights.floats(weightName)
            let gamma = try weights.floats(norm + ".weight")
            let beta = try weights.floats(norm + ".bias")
            let mean = try weights.floats(norm + ".running_mean")
            let variance = try weights.floats(norm + ".running_var")
            guard [gamma, beta, mean, variance].allSatisfy({ $0.count == output }) else {
                throw AerieError.invalid("The batch norm \(norm) in \(weights.url.lastPathComponent) does not have \(output) channels.")
            }
            let perChannel = weight.count / output
            var bias = [Float](repeating: 0, count: output)
            for channel in 0..<output {
                let scale = Double(gamma[channel]) / (Double(variance[channel]) + EfficientNetLiteGraph.batchNormEpsilon).squareRoot()
                for index in channel * perChannel..<(channel + 1) * perChannel {
                    weight[index] = Float(Double(weight[index]) * scale)
                }
                bias[channel] = Float(Double(beta[channel]) - Double(mean[channel]) * scale)
            }
            let (before, after) = EfficientNetLiteGraph.samePadding(size: size, kernel: kernel, stride: stride)
            size = (size + stride - 1) / stride
            let w = constant(convolution + ".folded_weight", weight, shape: [output, depthwise ? 1 : input, kernel, kernel])
            let b = constant(convolution + ".folded_bias", bias, shape: [output])
            return node("Conv", [x, w, b], [
                .init("kernel_shape", .ints([Int64(kernel), Int64(kernel)])),
                .init("strides", .ints([Int64(stride), Int64(stride)])),
                .init("pads", .ints([before, before, after, after].map(Int64.init))),
                .init("group", .int(Int64(depthwise ? output : 1))),
            ])
        }

        mutating func relu6(_ x: String) -> String {
            if !initializers.contains(where: { $0.name == "relu6.min" }) {
                _ = constant("relu6.min", [0], shape: [])
                _ = constant("relu6.max", [6], shape: [])
            }
            return node("Clip", [x, "relu6.min", "relu6.max"])
        }

        /// The whole network up to the logits.
        mutating func build() throws -> String {
            var channels = EfficientNetLiteGraph.stemChannels
            var x = relu6(try convolution("pixels", "_conv_stem", norm: "_bn0", input: 3, output: channels, kernel: 3, stride: 2))
            var block = 0
            for stage in EfficientNetLiteGraph.stages {
                for repeatIndex in 0..<stage.repeats {
                    let stride = repeatIndex == 0 ? stage.stride : 1
                    let p = "_blocks.\(block)."
                    let expanded = channels * stage.expansion
                    var y = x
                    if stage.expansion != 1 {
                        y = relu6(try convolution(y, p + "_expand_conv", norm: p + "_bn0", input: channels, output: expanded, kernel: 1))
                    } else if weights.tensors[p + "_expand_conv.weight"] != nil {
                        throw AerieError.invalid("\(p)_expand_conv in \(weights.url.lastPathComponent) is unexpected: B0's first block has no expansion.")
                    }
                    y = relu6(
                        try convolution(
                            y, p + "_depthwise_conv", norm: p + "_bn1", input: expanded, output: expanded, kernel: stage.kernel, stride: stride,
                            depthwise: true))
                    y = try convolution(y, p + "_project_conv", norm: p + "_bn2", input: expanded, output: stage.outputChannels, kernel: 1)
                    if weights.tensors.keys.contains(where: { $0.hasPrefix(p + "_se_") }) {
                        throw AerieError.invalid("\(weights.url.lastPathComponent) has squeeze-and-excitation weights: it is not a Lite model.")
                    }
                    if stride == 1, channels == stage.outputChannels {
                        y = node("Add", [y, x])
                    }
                    x = y
                    channels = stage.outputChannels
                    block += 1
                }
            }
            if weights.tensors["_blocks.\(block)._project_conv.weight"] != nil {
                throw AerieError.invalid("\(weights.url.lastPathComponent) has more than \(block) blocks: it is not EfficientNet-Lite0.")
            }
            x = relu6(try convolution(x, "_conv_head", norm: "_bn1", input: channels, output: EfficientNetLiteGraph.headChannels, kernel: 1))
            x = node("Flatten", [node("GlobalAveragePool", [x])], [.init("axis", .int(1))])
            guard let fc = weights.tensors["_fc.weight"]?.shape, fc.count == 2, fc[1] == EfficientNetLiteGraph.headChannels else {
                throw AerieError.invalid("\(weights.url.lastPathComponent) has no _fc.weight of shape [classes, \(EfficientNetLiteGraph.headChannels)].")
            }
            classes = fc[0]
            let weight = constant("_fc.weight", try weights.floats("_fc.weight"), shape: fc)
            let bias = constant("_fc.bias", try weights.floats("_fc.bias"), shape: [classes])
            return node("Gemm", [x, weight, bias], [.init("transB", .int(1))])
        }
    }
}
