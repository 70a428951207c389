import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Trees packed for fast prediction: the nodes of all trees in one array of 16-byte records,
/// each tree breadth first so that a node's two children are adjacent, and the leaf values of
/// all trees in another array.
///
/// A step down a tree is one record read and a branch-free index computation. Several walks
/// (rows down one tree, or one row down several trees) advance in turn, so that their memory
/// latencies overlap; a walk that reaches a leaf is replaced by the next one at once.
struct PackedForest: Sendable {
    struct Node: Sendable {
        /// `x[feature] > threshold` goes right; +infinity in a leaf (unused there).
        var threshold: Double
        /// Split feature; in a leaf, `-(offset of its values + 1)`.
        var feature: Int32
        /// The left child's index (the right child follows it); a leaf's own index (unused).
        var next: Int32
    }

    /// Batches at least this large go through a packed table (smaller ones walk the trees).
    static let minimumBatch = 64
    /// Fewest rows worth a parallel task.
    static let minimumChunkRows = 256
    /// Walks advanced in lock step: rows down one tree, or one row down several trees.
    static let lanes = 16
    static let treeLanes = 16

    var nodes: [Node]
    var roots: [Int32]
    var values: [Double]
    var outputs: Int

    init(_ trees: [DecisionTree], outputs: Int) {
        self.outputs = outputs
        var nodes: [Node] = []
        nodes.reserveCapacity(trees.reduce(0) { $0 + $1.nodeCount })
        var values: [Double] = []
        values.reserveCapacity(trees.reduce(0) { $0 + $1.leafValues.count })
        var roots: [Int32] = []
        var queue: [Int] = []
        for tree in trees {
            let start = nodes.count
            let valueBase = values.count
            values.append(contentsOf: tree.leafValues)
            roots.append(Int32(start))
            queue.removeAll(keepingCapacity: true)
            queue.append(0)
            var head = 0
            while head < queue.count {
                let old = queue[head]
                head += 1
                let f = tree.feature[old]
                if f < 0 {
                    let offset = valueBase + Int(tree.right[old]) * outputs
                    nodes.append(Node(threshold: .infinity, feature: Int32(-(offset + 1)), next: Int32(nodes.count)))
                } else {
                    nodes.append(Node(threshold: tree.threshold[old], feature: f, next: Int32(start + queue.count)))
                    queue.append(old + 1)
                    queue.append(Int(tree.right[old]))
                }
            }
        }
        self.nodes = nodes
        self.roots = roots
        self.values = values
    }

    /// The mean over trees of the leaf values, `outputs` per row, row-major.
    func predict(_ x: Matrix, threads: Int) -> [Double] {
        let k = outputs
        var out = [Double](repeating: 0, count: x.rows * k)
        // Few large chunks (two per thread): each task then takes the trees one at a time over
        // all of its rows, so a tree's nodes are read from memory once per task, not per row.
        let chunks = max(1, min(2 * max(1, threads), x.rows / PackedForest.minimumChunkRows))
        let chunkRows = (x.rows + chunks - 1) / chunks
        x.values.withUnsafeBufferPointer { xv in
            out.withUnsafeMutableBufferPointer { ov in
                let shared = SharedBuffers(x: xv, out: ov)
                ThreadCount.perform(iterations: chunks, threads: threads) { c in
                    let lo = c * chunkRows
                    accumulate(shared, rows: min(x.rows, lo)..<min(x.rows, lo + chunkRows), cols: x.cols)
                }
            }
        }
        return out
    }

    /// The input and output of one batch, shared by the tasks predicting disjoint row ranges.
    private struct SharedBuffers: @unchecked Sendable {
        let x: UnsafeBufferPointer<Double>
        let out: UnsafeMutableBufferPointer<Double>
    }

    /// Sums every tree's leaf values for `rows` into the output, then divides by the tree count.
    /// Several rows go down one tree at a time (its nodes stay in cache); a batch of fewer rows
    /// than lanes sends each row down several trees at a time instead.
    private func accumulate(_ b: SharedBuffers, rows: Range<Int>, cols: Int) {
        guard let xp = b.x.baseAddress, let op = b.out.baseAddress, !rows.isEmpty else { return }
        let k = outputs
        let lanes = PackedForest.lanes
        let treeLanes = PackedForest.treeLanes
        let scale = 1 / Double(max(1, roots.count))
        nodes.withUnsafeBufferPointer { nb in
            values.withUnsafeBufferPointer { vb in
                guard let nv = nb.baseAddress, let vv = vb.baseAddress else { return }
                withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * treeLanes) { lane in
                    guard let node = lane.baseAddress else { return }
                    let row = node + treeLanes  // the row of each lane (rows down one tree)
                    func add(_ g: Int, row: Int) {
                        let off = Int(-(nv[node[g]].feature + 1))
                        let o = row &* k
                        for c in 0..<k { op[o &+ c] += vv[off &+ c] }
                    }
                    if rows.count >= lanes {
                        // Rows down one tree: a lane that reaches a leaf takes the next row at
                        // once, so all lanes stay busy until the rows run out.
                        for root in roots {
                            let start = Int(root)
                            let count = lanes
                            var nextRow = rows.lowerBound + count
                            var active = count
                            for g in 0..<count {
                                node[g] = start
                                row[g] = rows.lowerBound + g
                            }
                            while active > 0 {
                                for g in 0..<count {
                                    let current = node[g]
                                    if current < 0 { continue }
                                    let nd = nv[current]
                                    if nd.feature >= 0 {
                                        let x = xp[row[g] &* cols &+ Int(nd.feature)]
                                        node[g] = Int(nd.next) &+ (x > nd.threshold ? 1 : 0)
                                        continue
                                    }
                                    add(g, row: row[g])
                                    if nextRow < rows.upperBound {
                                        node[g] = start
                                        row[g] = nextRow
                                        nextRow += 1
                                    } else {
                                        node[g] = -1
                                        active -= 1
                                    }
                                }
                            }
                        }
                    } else {
                        // One row down many trees: a lane that reaches a leaf takes the next tree
                        // at once, so all lanes stay busy until the trees run out.
                        let count = min(treeLanes, roots.count)
                        for i in rows {
                            let x = xp + i &* cols
                            var nextTree = count
                            var active = count
                            for g in 0..<count { node[g] = Int(roots[g]) }
                            while active > 0 {
                                for g in 0..<count {
                                    let current = node[g]
                                    if current < 0 { continue }
                                    let nd = nv[current]
                                    if nd.feature >= 0 {
                                        node[g] = Int(nd.next) &+ (x[Int(nd.feature)] > nd.threshold ? 1 : 0)
                                        continue
                                    }
                                    add(g, row: i)
                                    if nextTree < roots.count {
                                        node[g] = Int(roots[nextTree])
                                        nextTree += 1
                                    } else {
                                        node[g] = -1
                                        active -= 1
                                    }
                                }
                            }
                        }
                    }
                }
                if roots.count > 1 {
                    for j in (rows.lowerBound * k)..<(rows.upperBound * k) { op[j] *= scale }
                }
            }
        }
    }
}
