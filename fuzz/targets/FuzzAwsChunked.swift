// libFuzzer target for aws-chunked request bodies as the S3 API decodes them (`S3RequestBody`, built by
// `make fuzz-parsers` from Sources/AerieS3's body, checksum, error and SigV4 files, linked against the package's
// debug build of what they import: the coverage is of the decoder's code).
//
// The first byte picks the check. Even: the rest is a payload, framed as aws-chunked with chunk sizes taken from
// it and delivered in buffers split at points taken from it; decoding must give back exactly the payload. Odd: the
// rest is a body as a client might send it; decoding either succeeds or throws the S3 API's own error (a 4xx
// document), never anything else, and never hangs.
import Foundation
import NIOCore

private struct Buffers: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let items: [ByteBuffer]
    struct AsyncIterator: AsyncIteratorProtocol {
        var rest: ArraySlice<ByteBuffer>
        mutating func next() async -> ByteBuffer? { rest.popFirst() }
    }
    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(rest: items[...]) }
}

/// `bytes` cut into buffers at points the `cuts` bytes choose.
private func split(_ bytes: [UInt8], by cuts: [UInt8]) -> [ByteBuffer] {
    var buffers: [ByteBuffer] = []
    var start = 0
    var index = 0
    while start < bytes.count {
        let length = cuts.isEmpty ? bytes.count : 1 + Int(cuts[index % cuts.count]) % 97
        index += 1
        let end = min(bytes.count, start + length)
        buffers.append(ByteBuffer(bytes: bytes[start..<end]))
        start = end
    }
    return buffers
}

private enum Outcome: Sendable {
    case decoded([UInt8])
    case refused(S3Error)
    case failed(String)
}

private func decode(_ buffers: [ByteBuffer], plan: S3BodyPlan) -> Outcome {
    let box = OutcomeBox()
    let done = DispatchSemaphore(value: 0)
    Task {
        do {
            var out: [UInt8] = []
            for try await data in S3RequestBody(Buffers(items: buffers), plan: plan) { out.append(contentsOf: data) }
            box.value = .decoded(out)
        } catch let error as S3Error {
            box.value = .refused(error)
        } catch {
            box.value = .failed("\(error)")
        }
        done.signal()
    }
    if done.wait(timeout: .now() + 5) == .timedOut { fatalError("decoding did not finish in 5 s") }
    return box.value!
}

private final class OutcomeBox: @unchecked Sendable {  // written by the task, read after the semaphore
    var value: Outcome?
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAwsChunked(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let rest = Array(input.dropFirst())
    var plan = S3BodyPlan()
    plan.chunked = true
    if input[0] % 2 == 0 {
        // Frame the payload: chunk sizes from its own bytes, then the final zero chunk and the empty trailer line.
        var framed: [UInt8] = []
        var start = 0
        var index = 0
        while start < rest.count {
            let length = min(rest.count - start, 1 + Int(rest[index % rest.count]) * 3)
            index += 1
            framed += Array(String(length, radix: 16).utf8) + [13, 10] + rest[start..<(start + length)] + [13, 10]
            start += length
        }
        framed += Array("0\r\n\r\n".utf8)
        plan.length = Int64(rest.count)
        switch decode(split(framed, by: rest), plan: plan) {
        case .decoded(let payload):
            if payload != rest { fatalError("decoded \(payload.count) bytes, not the \(rest.count) framed") }
        case .refused(let error):
            fatalError("a well-framed body was refused: \(error)")
        case .failed(let error):
            fatalError("a well-framed body failed: \(error)")
        }
    } else {
        if case .failed(let error) = decode(split(rest, by: Array(rest.prefix(8))), plan: plan) {
            fatalError("an error that is not the S3 API's: \(error)")
        }
    }
    return 0
}
