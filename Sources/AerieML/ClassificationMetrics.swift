/// Precision, recall and F1 of one class.
public struct ClassScores: Sendable, Codable, Equatable {
    public var label: String
    public var precision: Double
    public var recall: Double
    public var f1: Double
    public var support: Int
}

/// Accuracy, macro and per-class precision/recall/F1, and the confusion matrix.
public struct ClassificationMetrics: Sendable, Codable, Equatable {
    public var accuracy: Double
    public var precisionMacro: Double
    public var recallMacro: Double
    public var f1Macro: Double
    public var perClass: [ClassScores]
    /// `confusion[true][predicted]` counts.
    public var confusion: [[Int]]
    public var labels: [String]

    /// Computes the metrics from class indices in `0..<labels.count`. Undefined ratios
    /// (no predictions or no support for a class) count as 0, as scikit-learn does.
    public init(truth: [Int], predicted: [Int], labels: [String]) {
        let k = labels.count
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: k), count: k)
        for (t, p) in zip(truth, predicted) { confusion[t][p] += 1 }
        self.init(confusion: confusion, labels: labels)
    }

    /// Computes the metrics from a confusion matrix (`confusion[true][predicted]`, one row and
    /// column per label); everything else follows from it.
    public init(confusion: [[Int]], labels: [String]) {
        let k = labels.count
        var correct = 0
        var total = 0
        for (t, row) in confusion.enumerated() {
            for (p, count) in row.enumerated() {
                total += count
                if t == p { correct += count }
            }
        }
        var perClass: [ClassScores] = []
        for c in 0..<k {
            let tp = Double(confusion[c][c])
            let predictedC = Double((0..<k).reduce(0) { $0 + confusion[$1][c] })
            let support = confusion[c].reduce(0, +)
            let precision = predictedC > 0 ? tp / predictedC : 0
            let recall = support > 0 ? tp / Double(support) : 0
            let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
            perClass.append(ClassScores(label: labels[c], precision: precision, recall: recall, f1: f1, support: support))
        }
        let kk = Double(max(1, k))
        accuracy = total == 0 ? 0 : Double(correct) / Double(total)
        precisionMacro = perClass.reduce(0) { $0 + $1.precision } / kk
        recallMacro = perClass.reduce(0) { $0 + $1.recall } / kk
        f1Macro = perClass.reduce(0) { $0 + $1.f1 } / kk
        self.perClass = perClass
        self.confusion = confusion
        self.labels = labels
    }
}
