/// R², mean absolute error and root mean squared error.
public struct RegressionMetrics: Sendable, Codable, Equatable {
    public var r2: Double
    public var mae: Double
    public var rmse: Double

    public init(truth: [Double], predicted: [Double]) {
        let n = Double(max(1, truth.count))
        let mean = truth.reduce(0, +) / n
        var ssRes = 0.0
        var ssTot = 0.0
        var abs = 0.0
        for (t, p) in zip(truth, predicted) {
            ssRes += (t - p) * (t - p)
            ssTot += (t - mean) * (t - mean)
            abs += Swift.abs(t - p)
        }
        r2 = ssTot > 0 ? 1 - ssRes / ssTot : (ssRes == 0 ? 1 : 0)
        mae = abs / n
        rmse = (ssRes / n).squareRoot()
    }
}
