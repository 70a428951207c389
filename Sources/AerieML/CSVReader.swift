#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A streaming RFC 4180 CSV reader.
///
/// Handles quoted fields with embedded commas, quotes (`""`) and line breaks, CRLF or LF line
/// ends, and a UTF-8 byte-order mark. It reads the input in fixed-size chunks and hands each
/// record to a callback, so memory stays proportional to one record, not to the file.
public struct CSVReader: Sendable {
    public var delimiter: UInt8

    public init(delimiter: UInt8 = UInt8(ascii: ",")) {
        self.delimiter = delimiter
    }

    /// Reads the file at `path`, calling `body` with each record and its 1-based line number.
    public func read(path: String, _ body: ([String], Int) throws -> Void) throws {
        guard let file = fopen(path, "rb") else {
            throw MLError(.io, "cannot open '\(path)': \(String(cString: strerror(errno))); check the path and permissions")
        }
        defer { fclose(file) }
        var parser = Parser(delimiter: delimiter)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if n == 0 {
                if ferror(file) != 0 {
                    throw MLError(.io, "error while reading '\(path)'; check that the file is readable")
                }
                break
            }
            try buffer.withUnsafeBufferPointer { try parser.feed(UnsafeBufferPointer(rebasing: $0[0..<n]), body) }
        }
        try parser.finish(body)
    }

    /// Parses CSV text held in memory.
    public func read(text: String, _ body: ([String], Int) throws -> Void) throws {
        var parser = Parser(delimiter: delimiter)
        var utf8 = Array(text.utf8)
        try utf8.withUnsafeMutableBufferPointer { try parser.feed(UnsafeBufferPointer($0), body) }
        utf8.removeAll()
        try parser.finish(body)
    }

    /// The incremental parser state between chunks.
    struct Parser {
        let delimiter: UInt8
        var field: [UInt8] = []
        var record: [String] = []
        var inQuotes = false
        var quoteSeenInQuotes = false  // saw a quote inside a quoted field: a closing or doubled quote
        var fieldWasQuoted = false
        var atStart = true  // BOM check
        var heldMark: [UInt8] = []  // the bytes of a possible BOM seen so far
        static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]
        var line = 1
        var recordLine = 1
        var pendingCR = false

        init(delimiter: UInt8) {
            self.delimiter = delimiter
        }

        mutating func endField() {
            record.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            fieldWasQuoted = false
        }

        mutating func endRecord(_ body: ([String], Int) throws -> Void) throws {
            endField()
            // A blank line (one empty, unquoted field) is skipped.
            if !(record.count == 1 && record[0].isEmpty) {
                try body(record, recordLine)
            }
            record.removeAll(keepingCapacity: true)
        }

        mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>, _ body: ([String], Int) throws -> Void) throws {
            var i = 0
            if atStart {
                // A UTF-8 byte-order mark is dropped, even when it straddles chunks (a reader of a pipe can get its
                // first bytes one at a time; the fuzzer found the split case): hold its bytes until it is complete,
                // or hand them on as text as soon as one differs.
                while i < bytes.count, heldMark.count < Self.byteOrderMark.count, bytes[i] == Self.byteOrderMark[heldMark.count] {
                    heldMark.append(bytes[i])
                    i += 1
                }
                if heldMark.count == Self.byteOrderMark.count {
                    atStart = false
                    heldMark = []
                } else if i < bytes.count {
                    try releaseHeldMark(body)
                } else {
                    return
                }
            }
            let quote = UInt8(ascii: "\"")
            let cr = UInt8(ascii: "\r")
            let lf = UInt8(ascii: "\n")
            while i < bytes.count {
                let c = bytes[i]
                i += 1
                if pendingCR {
                    pendingCR = false
                    if c == lf { continue }
                }
                if inQuotes {
                    if quoteSeenInQuotes {
                        quoteSeenInQuotes = false
                        if c == quote {
                            field.append(quote)  // "" → "
                            continue
                        }
                        inQuotes = false  // the quote closed the field; handle c below
                    } else if c == quote {
                        quoteSeenInQuotes = true
                        continue
                    } else {
                        if c == lf { line += 1 }
                        field.append(c)
                        continue
                    }
                }
                if c == delimiter {
                    endField()
                } else if c == lf || c == cr {
                    try endRecord(body)
                    line += 1
                    recordLine = line
                    pendingCR = c == cr
                } else if c == quote && field.isEmpty && !fieldWasQuoted {
                    inQuotes = true
                    fieldWasQuoted = true
                } else {
                    field.append(c)  // lenient: stray quotes or text after a closing quote are kept
                }
            }
        }

        /// Bytes that began like a byte-order mark but were not one: they are text, parsed as such.
        private mutating func releaseHeldMark(_ body: ([String], Int) throws -> Void) throws {
            atStart = false
            let held = heldMark
            heldMark = []
            try held.withUnsafeBufferPointer { try feed($0, body) }
        }

        mutating func finish(_ body: ([String], Int) throws -> Void) throws {
            if atStart { try releaseHeldMark(body) }
            if inQuotes && !quoteSeenInQuotes {
                throw MLError(.csv, "line \(recordLine): a quoted field is never closed; add the closing '\"' or escape inner quotes as '\"\"'")
            }
            inQuotes = false
            if !field.isEmpty || !record.isEmpty || fieldWasQuoted {
                try endRecord(body)
            }
        }
    }
}
