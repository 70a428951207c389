import AerieCore
import Testing

@Suite struct ByteRangeTests {
    @Test(arguments: [
        (ByteRange.closed(start: 0, end: 9), Int64(10), Optional(Int64(0)...9)),
        (.closed(start: 2, end: 5), 10, 2...5),
        (.closed(start: 5, end: 5), 10, 5...5),
        (.closed(start: 8, end: 100), 10, 8...9),
        (.closed(start: 9, end: 9), 10, 9...9),
        (.closed(start: 10, end: 12), 10, nil),
        (.closed(start: 5, end: 4), 10, nil),
        (.closed(start: 0, end: 0), 0, nil),
        (.from(start: 0), 10, 0...9),
        (.from(start: 9), 10, 9...9),
        (.from(start: 10), 10, nil),
        (.from(start: 0), 0, nil),
        (.suffix(length: 1), 10, 9...9),
        (.suffix(length: 3), 10, 7...9),
        (.suffix(length: 10), 10, 0...9),
        (.suffix(length: 100), 10, 0...9),
        (.suffix(length: 0), 10, nil),
        (.suffix(length: 5), 0, nil),
    ])
    func resolve(_ range: ByteRange, _ size: Int64, _ expected: ClosedRange<Int64>?) {
        #expect(range.resolve(size: size) == expected)
    }
}
