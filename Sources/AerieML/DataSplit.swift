/// Train/test splitting by row index.
public enum DataSplit {
    /// Splits `count` rows at random, `testFraction` of them into the test set.
    public static func random(count: Int, testFraction: Double, seed: UInt64) -> (train: [Int], test: [Int]) {
        var rng = SeededGenerator(seed: seed)
        var idx = Array(0..<count)
        idx.shuffle(using: &rng)
        let nTest = min(count - 1, max(count > 1 ? 1 : 0, Int((Double(count) * testFraction).rounded())))
        return (Array(idx[nTest...]).sorted(), Array(idx[..<nTest]).sorted())
    }

    /// Splits so that each class keeps its proportion in both sets; every class keeps at least
    /// one row in the training set.
    public static func stratified(labels: [Int], testFraction: Double, seed: UInt64) -> (train: [Int], test: [Int]) {
        var rng = SeededGenerator(seed: seed)
        var byClass: [Int: [Int]] = [:]
        for (i, y) in labels.enumerated() { byClass[y, default: []].append(i) }
        var train: [Int] = []
        var test: [Int] = []
        for key in byClass.keys.sorted() {
            guard var rows = byClass[key] else { continue }
            rows.shuffle(using: &rng)
            let nTest = min(rows.count - 1, Int((Double(rows.count) * testFraction).rounded()))
            test.append(contentsOf: rows[..<nTest])
            train.append(contentsOf: rows[nTest...])
        }
        return (train.sorted(), test.sorted())
    }
}
