import COpenBLAS
import Foundation

/// Exact top-k by inner product over an ``AlignedRows`` matrix: `cblas_sgemm` of a block of queries
/// against a block of contiguous database rows (a SIMD dot per row for a single query), then a fused partial top-k (a min-heap per query that
/// only sees scores above its current k-th best) over the score block while it is still in cache.
/// The database is split into contiguous ranges searched on `threads` threads; their heaps are merged.
struct ExactSearch {
    /// Database rows per sgemm block (2048 × 384 floats = 3 MiB).
    static let rowBlock = 2048
    /// Queries per sgemm block.
    static let queryBlock = 64

    let rows: AlignedRows
    let threads: Int

    /// The best `k` rows for each query (`queries` is row-major, `queryCount × dimensions`), best first,
    /// among the rows `accept` admits (all when `nil`). `accept` is called from several threads, only for
    /// rows whose score would enter the top k.
    func search(queries: [Float], queryCount: Int, k: Int, accept: ((Int) -> Bool)?) -> [[(row: Int, score: Float)]] {
        let n = rows.count
        let d = rows.dimensions
        guard n > 0, k > 0, queryCount > 0 else { return Array(repeating: [], count: queryCount) }
        // Below ~32k rows per thread the second thread costs more than it saves.
        let parts = max(1, min(threads, n / 32_768 + 1))
        let heaps = UnsafeMutableBufferPointer<TopK>.allocate(capacity: parts * queryCount)
        heaps.initialize(repeating: TopK(k: k))
        defer {
            heaps.deinitialize()
            heaps.deallocate()
        }
        queries.withUnsafeBufferPointer { queries in
            guard let q = queries.baseAddress else { return }
            let job = Part(
                base: rows.base, queries: q, heaps: heaps, rowCount: n, dimensions: d, queryCount: queryCount, parts: parts,
                accept: accept)
            if parts == 1 {
                job.run(0)
            } else {
                DispatchQueue.concurrentPerform(iterations: parts) { job.run($0) }
            }
        }
        return (0..<queryCount).map { query in
            var merged = heaps[query]
            for part in 1..<max(parts, 1) where part < parts {
                for item in heaps[part * queryCount + query].items() { merged.insert(row: item.row, score: item.score) }
            }
            return merged.sorted()
        }
    }

    /// One thread's share: rows `[n·part/parts, n·(part+1)/parts)` against every query, into its own heaps.
    ///
    /// `@unchecked Sendable`: the parts only read the shared matrix, queries and `accept` (which reads
    /// metadata nobody writes during the search: the index actor is busy in this call) and each writes
    /// only its own heaps, `heaps[part·queryCount ..< (part+1)·queryCount]`.
    struct Part: @unchecked Sendable {
        let base: UnsafeMutablePointer<Float>
        let queries: UnsafePointer<Float>
        let heaps: UnsafeMutableBufferPointer<TopK>
        let rowCount: Int
        let dimensions: Int
        let queryCount: Int
        let parts: Int
        let accept: ((Int) -> Bool)?

        func run(_ part: Int) {
            let d = dimensions
            let start = rowCount * part / parts
            let end = rowCount * (part + 1) / parts
            let qb = min(ExactSearch.queryBlock, queryCount)
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: qb * ExactSearch.rowBlock)
            defer { scores.deallocate() }
            var blockStart = start
            while blockStart < end {
                let blockRows = min(ExactSearch.rowBlock, end - blockStart)
                var queryStart = 0
                while queryStart < queryCount {
                    let blockQueries = min(qb, queryCount - queryStart)
                    if blockQueries == 1 {
                        // One query: a SIMD dot per row (faster than OpenBLAS's sgemv here, see VectorKernels).
                        let query = queries + queryStart * d
                        let rows = base + blockStart * d
                        for row in 0..<blockRows { scores[row] = VectorKernels.dot(rows + row * d, query, count: d) }
                    } else {
                        cblas_sgemm(
                            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(blockQueries), Int32(blockRows), Int32(d), 1,
                            queries + queryStart * d, Int32(d), base + blockStart * d, Int32(d), 0, scores, Int32(blockRows))
                    }
                    for j in 0..<blockQueries {
                        ExactSearch.collect(
                            scores + j * blockRows, count: blockRows, firstRow: blockStart,
                            into: &heaps[part * queryCount + queryStart + j], accept: accept)
                    }
                    queryStart += blockQueries
                }
                blockStart += blockRows
            }
        }
    }

    /// Feeds one query's row of scores into its heap, comparing against the k-th best first.
    @inline(__always)
    static func collect(
        _ scores: UnsafePointer<Float>, count: Int, firstRow: Int, into heap: inout TopK, accept: ((Int) -> Bool)?
    ) {
        var threshold = heap.threshold
        for j in 0..<count {
            let score = scores[j]
            guard score > threshold else { continue }
            let row = firstRow + j
            if let accept, !accept(row) { continue }
            heap.insert(row: row, score: score)
            threshold = heap.threshold
        }
    }
}

/// The k largest scores seen, in a min-heap (the k-th best at the root).
struct TopK {
    let k: Int
    private var rows: [Int] = []
    private var scores: [Float] = []

    init(k: Int) {
        self.k = k
        rows.reserveCapacity(k)
        scores.reserveCapacity(k)
    }

    /// Scores at or below this cannot enter.
    var threshold: Float { scores.count < k ? -.infinity : scores[0] }

    func accepts(_ score: Float) -> Bool { score > threshold }

    mutating func insert(row: Int, score: Float) {
        if scores.count < k {
            rows.append(row)
            scores.append(score)
            var child = scores.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard scores[child] < scores[parent] else { break }
                scores.swapAt(child, parent)
                rows.swapAt(child, parent)
                child = parent
            }
        } else if score > scores[0] {
            scores[0] = score
            rows[0] = row
            var parent = 0
            let count = scores.count
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var smallest = parent
                if left < count, scores[left] < scores[smallest] { smallest = left }
                if right < count, scores[right] < scores[smallest] { smallest = right }
                if smallest == parent { break }
                scores.swapAt(parent, smallest)
                rows.swapAt(parent, smallest)
                parent = smallest
            }
        }
    }

    func items() -> [(row: Int, score: Float)] {
        Array(zip(rows, scores)).map { (row: $0.0, score: $0.1) }
    }

    /// Best first; ties by row.
    func sorted() -> [(row: Int, score: Float)] {
        items().sorted { $0.score > $1.score || ($0.score == $1.score && $0.row < $1.row) }
    }
}
