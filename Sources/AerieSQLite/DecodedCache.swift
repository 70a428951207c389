import Synchronization

/// Values decoded from stored JSON text (a queue's configuration, a table's schema), by the text itself, so hot
/// paths do not decode JSON on every call. An updated value has new text and so simply gets a new entry.
final class DecodedCache<Value: Sendable>: Sendable {
    private let entries = Mutex<[String: Value]>([:])

    func value(for text: String, decode: (String) throws -> Value) throws -> Value {
        if let known = entries.withLock({ $0[text] }) { return known }
        let value = try decode(text)
        entries.withLock { entries in
            if entries.count > 1024 { entries.removeAll() }
            entries[text] = value
        }
        return value
    }
}
