// libFuzzer target for the tabular engine's CSV reader (built by `make fuzz-parsers`, with Sources/AerieML/CSVReader.swift
// and MLError.swift compiled into the same module so the incremental parser is reachable).
//
// Beyond "no crash": the reader must give the same records, line numbers and error for any split of the input into
// two chunks (the file reader feeds 1 MiB at a time, so a quote, CRLF or BOM can straddle a boundary) as for the
// whole input at once. The split point comes from the input's first byte.

private struct Outcome: Equatable {
    var records: [[String]] = []
    var lines: [Int] = []
    var error: String?
}

private func parse(_ chunks: [UnsafeBufferPointer<UInt8>]) -> Outcome {
    var outcome = Outcome()
    var parser = CSVReader.Parser(delimiter: UInt8(ascii: ","))
    let collect: ([String], Int) throws -> Void = { record, line in
        outcome.records.append(record)
        outcome.lines.append(line)
    }
    do {
        for chunk in chunks { try parser.feed(chunk, collect) }
        try parser.finish(collect)
    } catch {
        outcome.error = "\(error)"
    }
    return outcome
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let whole = parse([bytes])
    let cut = size == 0 ? 0 : Int(bytes[0]) % (size + 1)
    let split = parse([UnsafeBufferPointer(rebasing: bytes[0..<cut]), UnsafeBufferPointer(rebasing: bytes[cut...])])
    if whole != split {
        fatalError("split at \(cut) of \(size) bytes changed the result: \(whole) vs \(split)")
    }
    return 0
}
