/// What a model learns: a class (classification) or a number (regression).
public enum MLTask: String, Sendable, Codable, CaseIterable {
    case auto
    case classification
    case regression

    /// Resolves `.auto` for a target column: classification when the target is non-numeric, or
    /// integer-valued with at most 100 distinct values; otherwise regression.
    public func resolved(for target: ColumnValues) -> MLTask {
        guard self == .auto else { return self }
        switch target {
        case .categorical:
            return .classification
        case .numeric(let values):
            var distinct = Set<Double>()
            for v in values where !v.isNaN {
                if v != v.rounded() { return .regression }
                distinct.insert(v)
                if distinct.count > 100 { return .regression }
            }
            return .classification
        }
    }
}
