import Foundation

/// One server-sent event.
struct ServerSentEvent: Equatable {
    var event = "message"
    var data = ""
    var id: String?
}

/// Parses a `text/event-stream` incrementally (WHATWG HTML §9.2), fed with chunks as they arrive.
struct ServerSentEventParser {
    private var buffer = Data()
    private var current = ServerSentEvent()
    private var dataLines: [String] = []

    mutating func feed(_ chunk: Data) -> [ServerSentEvent] {
        buffer.append(chunk)
        var events: [ServerSentEvent] = []
        while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
            var line = buffer[buffer.startIndex..<newline]
            buffer.removeSubrange(buffer.startIndex...newline)
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            let text = String(decoding: line, as: UTF8.self)
            if text.isEmpty {
                if !dataLines.isEmpty {
                    current.data = dataLines.joined(separator: "\n")
                    events.append(current)
                }
                current = ServerSentEvent(id: current.id)
                dataLines = []
                continue
            }
            if text.hasPrefix(":") { continue }
            let field: Substring
            var value: Substring
            if let colon = text.firstIndex(of: ":") {
                field = text[..<colon]
                value = text[text.index(after: colon)...]
                if value.hasPrefix(" ") { value = value.dropFirst() }
            } else {
                field = Substring(text)
                value = ""
            }
            switch field {
            case "event": current.event = String(value)
            case "data": dataLines.append(String(value))
            case "id": current.id = String(value)
            default: break
            }
        }
        return events
    }
}
