import Testing

@testable import AerieModels

@Suite("EfficientNet-Lite graph")
struct EfficientNetLiteGraphTests {
    /// TensorFlow's SAME padding as `Conv2dStaticSamePadding` computes it: the odd pixel after (bottom, right).
    @Test func tensorFlowSamePadding() {
        #expect(EfficientNetLiteGraph.samePadding(size: 224, kernel: 3, stride: 2) == (0, 1))
        #expect(EfficientNetLiteGraph.samePadding(size: 28, kernel: 5, stride: 2) == (1, 2))
        #expect(EfficientNetLiteGraph.samePadding(size: 112, kernel: 3, stride: 1) == (1, 1))
        #expect(EfficientNetLiteGraph.samePadding(size: 14, kernel: 5, stride: 1) == (2, 2))
        #expect(EfficientNetLiteGraph.samePadding(size: 7, kernel: 1, stride: 1) == (0, 0))
    }
}
