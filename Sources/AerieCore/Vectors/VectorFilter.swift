/// A condition on a vector's metadata, for ``Vectors/search(_:k:filter:)``.
///
/// A dictionary literal is the common case, equality on every key:
/// `["scheduler": "euler", "steps": 30, "guidance": 7.5]`. Numbers compare as numbers (`30` equals `30.0`),
/// strings as strings; a number never equals a string, and a missing key equals nothing.
public indirect enum VectorFilter: Sendable, Hashable, ExpressibleByDictionaryLiteral {
    /// The field is present and equal to the value.
    case equals(String, KeyValue)
    /// The field is present and equal to one of the values.
    case oneOf(String, [KeyValue])
    /// The field is present, of the same kind as the bound (number or string), and within the bounds
    /// (inclusive; `nil` for no bound). Strings compare by UTF-8 bytes.
    case between(String, lower: KeyValue?, upper: KeyValue?)
    /// The field is present.
    case exists(String)
    /// Every condition holds (true when empty).
    case all([VectorFilter])
    /// At least one condition holds (false when empty).
    case any([VectorFilter])
    /// The condition does not hold.
    case not(VectorFilter)

    /// Equality on every key.
    public init(dictionaryLiteral elements: (String, KeyValue)...) {
        self = .all(elements.map { .equals($0.0, $0.1) })
    }

    /// Equality on every key of `fields`.
    public static func matching(_ fields: [String: KeyValue]) -> VectorFilter {
        .all(fields.sorted { $0.key < $1.key }.map { .equals($0.key, $0.value) })
    }

    /// Whether `metadata` satisfies the condition.
    public func matches(_ metadata: [String: KeyValue]) -> Bool {
        switch self {
        case .equals(let field, let value):
            return metadata[field] == value
        case .oneOf(let field, let values):
            guard let stored = metadata[field] else { return false }
            return values.contains(stored)
        case .between(let field, let lower, let upper):
            guard let stored = metadata[field] else { return false }
            if let lower, !(Self.sameKind(stored, lower) && lower <= stored) { return false }
            if let upper, !(Self.sameKind(stored, upper) && stored <= upper) { return false }
            return true
        case .exists(let field):
            return metadata[field] != nil
        case .all(let conditions):
            return conditions.allSatisfy { $0.matches(metadata) }
        case .any(let conditions):
            return conditions.contains { $0.matches(metadata) }
        case .not(let condition):
            return !condition.matches(metadata)
        }
    }

    private static func sameKind(_ a: KeyValue, _ b: KeyValue) -> Bool {
        switch (a, b) {
        case (.number, .number), (.string, .string): true
        default: false
        }
    }
}
