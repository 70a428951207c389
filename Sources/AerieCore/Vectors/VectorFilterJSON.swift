import Foundation

/// Reads a ``VectorFilter`` from JSON in the style vector databases use (Pinecone, Qdrant's and Chroma's `where`):
///
/// - `{"kind": "y"}`: equality (several fields: all must hold); `{"kind": {"$eq": "y"}}`, `{"$ne": "y"}`;
/// - `{"year": {"$gte": 2000, "$lte": 2010}}`, `$gt`, `$lt`: ranges (numbers with numbers, strings with strings);
/// - `{"kind": {"$in": ["a", "b"]}}`, `$nin`; `{"seed": {"$exists": true}}`;
/// - `{"$and": [f, …]}`, `{"$or": [f, …]}`, `{"$not": f}`.
///
/// Booleans compare as the numbers 1 and 0 (how metadata stores them). Errors carry the JSON pointer of the
/// offending part.
public enum VectorFilterJSON {
    public static func parse(_ json: JSONValue, pointer: String = "") throws -> VectorFilter {
        guard case .object(let fields) = json else {
            throw AerieError.invalid("A filter is a JSON object, e.g. {\"kind\": \"photo\"} or {\"$or\": [...]}.", field: pointer.isEmpty ? "/" : pointer)
        }
        var conditions: [VectorFilter] = []
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
            let here = "\(pointer)/\(escape(name))"
            switch name {
            case "$and", "$or":
                guard case .array(let parts) = value else {
                    throw AerieError.invalid("\(name) takes an array of filters.", field: here)
                }
                let parsed = try parts.enumerated().map { try parse($1, pointer: "\(here)/\($0)") }
                conditions.append(name == "$and" ? .all(parsed) : .any(parsed))
            case "$not":
                conditions.append(.not(try parse(value, pointer: here)))
            default:
                guard !name.hasPrefix("$") else {
                    throw AerieError.invalid("Unknown operator \(name); use $and, $or or $not at this level.", field: here)
                }
                conditions.append(try fieldCondition(name, value, pointer: here))
            }
        }
        return conditions.count == 1 ? conditions[0] : .all(conditions)
    }

    private static func fieldCondition(_ field: String, _ value: JSONValue, pointer: String) throws -> VectorFilter {
        guard case .object(let operators) = value else {
            return .equals(field, try scalar(value, pointer: pointer))
        }
        var conditions: [VectorFilter] = []
        for (op, operand) in operators.sorted(by: { $0.key < $1.key }) {
            let here = "\(pointer)/\(escape(op))"
            switch op {
            case "$eq": conditions.append(.equals(field, try scalar(operand, pointer: here)))
            case "$ne": conditions.append(.not(.equals(field, try scalar(operand, pointer: here))))
            case "$in", "$nin":
                guard case .array(let items) = operand else {
                    throw AerieError.invalid("\(op) takes an array of strings or numbers.", field: here)
                }
                let values = try items.enumerated().map { try scalar($1, pointer: "\(here)/\($0)") }
                conditions.append(op == "$in" ? .oneOf(field, values) : .not(.oneOf(field, values)))
            case "$gte": conditions.append(.between(field, lower: try scalar(operand, pointer: here), upper: nil))
            case "$lte": conditions.append(.between(field, lower: nil, upper: try scalar(operand, pointer: here)))
            case "$gt":
                let bound = try scalar(operand, pointer: here)
                conditions.append(.all([.between(field, lower: bound, upper: nil), .not(.equals(field, bound))]))
            case "$lt":
                let bound = try scalar(operand, pointer: here)
                conditions.append(.all([.between(field, lower: nil, upper: bound), .not(.equals(field, bound))]))
            case "$exists":
                guard case .bool(let wanted) = operand else {
                    throw AerieError.invalid("$exists takes true or false.", field: here)
                }
                conditions.append(wanted ? .exists(field) : .not(.exists(field)))
            default:
                throw AerieError.invalid(
                    "Unknown operator \(op); use $eq, $ne, $in, $nin, $gt, $gte, $lt, $lte or $exists.", field: here)
            }
        }
        guard !conditions.isEmpty else {
            throw AerieError.invalid("An operator object needs at least one operator, e.g. {\"$gte\": 3}.", field: pointer)
        }
        return conditions.count == 1 ? conditions[0] : .all(conditions)
    }

    private static func scalar(_ value: JSONValue, pointer: String) throws -> KeyValue {
        switch value {
        case .string(let text): return .string(text)
        case .number(let number): return .number(number)
        case .bool(let flag): return .number(flag ? 1 : 0)
        default: throw AerieError.invalid("Filter values are strings, numbers or booleans.", field: pointer)
        }
    }

    /// RFC 6901 escaping of one pointer segment.
    private static func escape(_ segment: String) -> String {
        segment.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }
}
