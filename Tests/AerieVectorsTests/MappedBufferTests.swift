@testable import AerieVectors
import Foundation
import Testing

@Suite("Mapped buffers and row storage")
struct MappedBufferTests {
    @Test func growingKeepsEveryValue() {
        let buffer = MappedBuffer<Int32>()
        // Past several remaps (the first mapping is one page: 1024 values).
        for value in 0..<200_000 { buffer.append(repeating: Int32(value), count: 1) }
        #expect(buffer.count == 200_000)
        #expect(buffer.capacity >= 200_000)
        let intact = (0..<200_000).allSatisfy { buffer[$0] == Int32($0) }
        #expect(intact)
        buffer.removeLast(50_000)
        #expect(buffer.count == 150_000)
        #expect(buffer[149_999] == 149_999)
    }

    @Test func reserveKeepsContentsAndIsPageAligned() {
        let buffer = MappedBuffer<Float>()
        buffer.append(repeating: 1.5, count: 3)
        buffer.reserve(5_000_000)
        #expect(buffer.capacity >= 5_000_000)
        #expect(buffer.count == 3)
        #expect(buffer[0] == 1.5 && buffer[2] == 1.5)
        #expect(Int(bitPattern: buffer.base) % 4096 == 0)
    }

    /// Row `row` of the test matrix: 16 consecutive numbers.
    static func values(_ row: Int) -> [Float] {
        (0..<16).map { Float(row * 16 + $0) }
    }

    @Test func rowsStayCacheLineAlignedAndIntactThroughGrowthAndRemoval() {
        let rows = AlignedRows(dimensions: 16)
        let minusOnes = [Float](repeating: -1, count: 16)
        for row in 0..<10_000 { rows.append(Self.values(row)) }
        #expect(rows.count == 10_000)
        #expect(Int(bitPattern: rows.base) % 64 == 0)
        #expect(rows.vector(at: 9_999) == Self.values(9_999))
        rows.removeMovingLast(0)
        #expect(rows.count == 9_999)
        #expect(rows.vector(at: 0) == Self.values(9_999))
        rows.replace(row: 5, with: minusOnes)
        #expect(rows.vector(at: 5) == minusOnes)
        #expect(rows.vector(at: 6) == Self.values(6))
    }
}
