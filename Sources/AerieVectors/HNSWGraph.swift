import Foundation

/// A hierarchical navigable small-world graph (Malkov & Yashunin) over inner-product similarity: the
/// approximate index that ``VectorIndex`` searches once it holds more vectors than its threshold.
///
/// The graph keeps no vectors of its own: node `i` is row `i` of the index's ``AlignedRows`` matrix.
/// Links live in flat `Int32` buffers (``MappedBuffer``): layer 0 has a fixed block of `1 + 2M` slots per
/// node (count, then neighbours); a node's upper layers are consecutive blocks of `1 + M` slots in a second one.
/// When a row changes (replaced in place, or a removal moves the last row into its place) the graph is
/// repaired in place (``relink(_:)``, ``remove(row:)``); the owner rebuilds it after much churn.
///
/// A class owned by one ``VectorIndex`` (inside its actor), never shared; it is not `Sendable`.
final class HNSWGraph {
    struct Parameters: Sendable, Hashable {
        /// Links per node on the upper layers (twice as many on layer 0).
        var m: Int = 16
        /// Candidates considered while inserting.
        var efConstruction: Int = 100
        /// Candidates considered while searching (at least k); higher is slower and more exact.
        var efSearch: Int = 64
    }

    let rows: AlignedRows
    let parameters: Parameters
    private let m: Int
    private let m0: Int
    private let stride0: Int
    private let strideUpper: Int
    /// Layer 0: `stride0` slots per node (count, then up to `m0` neighbours).
    private let level0 = MappedBuffer<Int32>()
    /// Upper layers: node `i`'s layers `1...levels[i]` start at `upperStart[i]`, `strideUpper` slots each.
    private let upper = MappedBuffer<Int32>()
    private var upperStart: [Int32] = []
    private var levels: [Int8] = []
    private var entryPoint: Int = -1
    private var maxLevel: Int = -1
    private var random: UInt64 = 0x2545_F491_4F6C_DD1D
    private var buildScratch = HNSWScratch()
    /// Removals and in-place replacements since the build; links get worse with each.
    private(set) var churn = 0

    init(rows: AlignedRows, parameters: Parameters) {
        self.rows = rows
        self.parameters = parameters
        m = max(parameters.m, 2)
        m0 = 2 * m
        stride0 = 1 + m0
        strideUpper = 1 + m
    }

    var nodeCount: Int { levels.count }
    var dimensions: Int { rows.dimensions }

    // MARK: Link storage

    /// `node`'s link block on `layer`: the count, then the neighbours (valid until the graph changes).
    @inline(__always)
    private func linkBlock(_ node: Int, _ layer: Int) -> UnsafeMutablePointer<Int32> {
        layer == 0 ? level0.base + node * stride0 : upper.base + Int(upperStart[node]) + (layer - 1) * strideUpper
    }

    /// The neighbour list of `node` on `layer` (valid until the graph changes).
    @inline(__always)
    private func linkList(_ node: Int, _ layer: Int) -> UnsafeBufferPointer<Int32> {
        let block = linkBlock(node, layer)
        return UnsafeBufferPointer(start: block + 1, count: Int(block[0]))
    }

    private func links(_ node: Int, _ layer: Int) -> [Int32] {
        Array(linkList(node, layer))
    }

    private func setLinks(_ node: Int, _ layer: Int, _ list: [Int32]) {
        let block = linkBlock(node, layer)
        let n = min(list.count, layer == 0 ? m0 : m)
        block[0] = Int32(n)
        for i in 0..<n { block[1 + i] = list[i] }
    }

    /// Appends `neighbor` to `node`'s list on `layer`; false when the list is full.
    private func appendLink(_ node: Int, _ layer: Int, _ neighbor: Int32) -> Bool {
        let block = linkBlock(node, layer)
        let n = Int(block[0])
        guard n < (layer == 0 ? m0 : m) else { return false }
        block[1 + n] = neighbor
        block[0] = Int32(n + 1)
        return true
    }

    /// Drops every occurrence of `target` from `node`'s list on `layer`.
    private func dropLink(_ node: Int, _ layer: Int, _ target: Int32) {
        var list = links(node, layer)
        let before = list.count
        list.removeAll { $0 == target }
        if list.count != before { setLinks(node, layer, list) }
    }

    /// Replaces every occurrence of `old` by `new` in `node`'s list on `layer`.
    private func renameLink(_ node: Int, _ layer: Int, from old: Int32, to new: Int32) {
        let block = linkBlock(node, layer)
        for i in 1..<(1 + Int(block[0])) where block[i] == old { block[i] = new }
    }

    /// Whether `neighbor` (read from a list on `layer`) names a node on that layer: after repairs a list
    /// may keep a number past the last node, or one a lower node has since taken.
    @inline(__always)
    private func isNode(_ neighbor: Int32, on layer: Int) -> Bool {
        Int(neighbor) < levels.count && (layer == 0 || Int(levels[Int(neighbor)]) >= layer)
    }

    // MARK: Scores

    @inline(__always)
    private func score(_ query: UnsafePointer<Float>, _ node: Int) -> Float {
        VectorKernels.dot(query, rows.base + node * rows.dimensions, count: rows.dimensions)
    }

    private func similarity(_ a: Int, _ b: Int) -> Float {
        VectorKernels.dot(rows.base + a * rows.dimensions, rows.base + b * rows.dimensions, count: rows.dimensions)
    }

    private func randomLevel() -> Int {
        // xorshift64*; level = floor(-ln(U) / ln(m)).
        random ^= random >> 12
        random ^= random << 25
        random ^= random >> 27
        let u = Double((random &* 0x2545_F491_4F6C_DD1D) >> 11) / Double(1 << 53)
        return min(Int(-log(max(u, 1e-12)) / log(Double(m))), Int(Int8.max))
    }

    // MARK: Building

    /// Adds the next row of the matrix (row `nodeCount`, which must exist) to the graph.
    func insertNextRow() {
        let node = levels.count
        precondition(node < rows.count, "HNSW insert past the matrix rows")
        let level = randomLevel()
        levels.append(Int8(level))
        upperStart.append(Int32(upper.count))
        if level > 0 { upper.append(repeating: 0, count: level * strideUpper) }
        level0.append(repeating: 0, count: stride0)
        buildScratch.reserve(nodes: levels.count, links: m0)
        guard entryPoint >= 0 else {
            entryPoint = node
            maxLevel = level
            return
        }
        connect(node, level: level)
        if level > maxLevel {
            maxLevel = level
            entryPoint = node
        }
    }

    /// Searches neighbours for `node` (whose links are empty) on its layers and links both ways.
    private func connect(_ node: Int, level: Int) {
        guard entryPoint >= 0, entryPoint != node || nodeCount > 1 else { return }
        let query = UnsafePointer(rows.base + node * rows.dimensions)
        var current = entryPoint
        if current == node {
            // Start from any other node (the entry point itself is being relinked).
            current = node == 0 ? 1 : 0
        }
        var currentScore = score(query, current)
        // Only layers the start node is on (lower than the top when relinking the entry point).
        let top = min(maxLevel, Int(levels[current]))
        var layer = top
        while layer > level {
            current = greedy(query, from: current, score: &currentScore, layer: layer)
            layer -= 1
        }
        var entries = [(node: current, score: currentScore)]
        for layer in stride(from: min(level, top), through: 0, by: -1) {
            var candidates = searchLayer(query, entries: entries, ef: parameters.efConstruction, layer: layer, scratch: &buildScratch)
            candidates.removeAll { $0.node == node }
            let limit = layer == 0 ? m0 : m
            let chosen = selectNeighbors(candidates, limit: m)
            setLinks(node, layer, chosen.map { Int32($0.node) })
            for neighbor in chosen where isNode(Int32(neighbor.node), on: layer) && !appendLink(neighbor.node, layer, Int32(node)) {
                prune(neighbor.node, layer: layer, limit: limit, adding: Int32(node))
            }
            if !candidates.isEmpty { entries = candidates }
        }
    }

    // MARK: Changes of rows

    /// Row `node`'s vector was replaced in place: unlink it and link it anew at its level.
    func relink(_ node: Int) {
        guard node < nodeCount else { return }
        churn += 1
        unlink(node)
        connect(node, level: Int(levels[node]))
    }

    /// Takes `node` out of its neighbours' lists and empties its own.
    private func unlink(_ node: Int) {
        for layer in 0...Int(levels[node]) {
            for neighbor in links(node, layer) where isNode(neighbor, on: layer) {
                dropLink(Int(neighbor), layer, Int32(node))
            }
            setLinks(node, layer, [])
        }
    }

    /// Row `row` was removed and the matrix's last row moved into its place (``AlignedRows/removeMovingLast(_:)``).
    /// Call after the matrix changed.
    func remove(row: Int) {
        let last = nodeCount - 1
        guard row <= last else { return }
        churn += 1
        unlink(row)
        if row != last {
            // The last node becomes node `row`: its links, level and the references to it.
            let lastLevel = Int(levels[last])
            for layer in 0...lastLevel {
                for neighbor in links(last, layer) where isNode(neighbor, on: layer) {
                    renameLink(Int(neighbor), layer, from: Int32(last), to: Int32(row))
                }
            }
            linkBlock(row, 0).update(from: linkBlock(last, 0), count: stride0)
            levels[row] = levels[last]
            upperStart[row] = upperStart[last]
        }
        levels.removeLast()
        upperStart.removeLast()
        level0.removeLast(stride0)
        if entryPoint == row {
            entryPoint = -1
            maxLevel = -1
            for node in 0..<nodeCount where Int(levels[node]) > maxLevel {
                maxLevel = Int(levels[node])
                entryPoint = node
            }
        } else if entryPoint == last {
            entryPoint = row
        }
        // Links from nodes that are no longer neighbours may still name `row` or `last`; both stay valid
        // or are skipped (a number past the last node).
    }

    // MARK: Searching

    /// The best `k` nodes (rows) for `query`, best first.
    func search(_ query: UnsafePointer<Float>, k: Int, ef: Int, scratch: inout HNSWScratch) -> [(node: Int, score: Float)] {
        guard entryPoint >= 0, k > 0 else { return [] }
        scratch.reserve(nodes: nodeCount, links: m0)
        var current = entryPoint
        var currentScore = score(query, current)
        var layer = maxLevel
        while layer > 0 {
            current = greedy(query, from: current, score: &currentScore, layer: layer)
            layer -= 1
        }
        let found = searchLayer(query, entries: [(current, currentScore)], ef: max(ef, k), layer: 0, scratch: &scratch)
        return Array(found.prefix(k))
    }

    private func greedy(_ query: UnsafePointer<Float>, from start: Int, score best: inout Float, layer: Int) -> Int {
        var current = start
        var improved = true
        while improved {
            improved = false
            for neighbor in linkList(current, layer) where isNode(neighbor, on: layer) {
                let s = score(query, Int(neighbor))
                if s > best {
                    best = s
                    current = Int(neighbor)
                    improved = true
                }
            }
        }
        return current
    }

    /// Best-first search on one layer; returns up to `ef` nodes sorted best first.
    ///
    /// Each expanded node's unvisited neighbours are gathered first and scored together
    /// (`aerie_dot_rows_f32`), so the cache misses on their scattered rows overlap.
    private func searchLayer(
        _ query: UnsafePointer<Float>, entries: [(node: Int, score: Float)], ef: Int, layer: Int, scratch: inout HNSWScratch
    ) -> [(node: Int, score: Float)] {
        let mark = scratch.nextMark()
        let visited = scratch.visited.base
        let gathered = scratch.gathered
        let scores = scratch.scores
        let candidates = scratch.candidates  // on -score: best candidate on top
        let results = scratch.results  // on score: worst result on top
        candidates.removeAll()
        results.removeAll()
        let dims = rows.dimensions
        let base = UnsafePointer(rows.base)
        let count = nodeCount
        for entry in entries {
            visited[entry.node] = mark
            candidates.push(entry.node, -entry.score)
            results.push(entry.node, entry.score)
        }
        while results.count > ef { results.popTop() }
        while candidates.count > 0 {
            let candidate = candidates.topNode
            if results.count >= ef, -candidates.topScore < results.topScore { break }
            candidates.popTop()
            let list = linkList(candidate, layer)
            // The next candidate's links, and this one's neighbours' visited stamps, are likely cache misses.
            if candidates.count > 0 { VectorKernels.prefetch(linkBlock(candidates.topNode, layer), lines: 1) }
            for neighbor in list { VectorKernels.prefetch(visited + Int(neighbor), lines: 1) }
            var unvisited = 0
            for neighbor in list {
                let n = Int(neighbor)
                guard n < count, layer == 0 || Int(levels[n]) >= layer, visited[n] != mark else { continue }
                visited[n] = mark
                if unvisited < 4 { VectorKernels.prefetch(base + n * dims) }
                gathered[unvisited] = neighbor
                unvisited += 1
            }
            guard unvisited > 0 else { continue }
            VectorKernels.dots(query, rows: gathered, count: unvisited, of: base, dimensions: dims, into: scores)
            for i in 0..<unvisited {
                let s = scores[i]
                if results.count < ef || s > results.topScore {
                    candidates.push(Int(gathered[i]), -s)
                    results.push(Int(gathered[i]), s)
                    if results.count > ef { results.popTop() }
                }
            }
        }
        var out: [(node: Int, score: Float)] = []
        out.reserveCapacity(results.count)
        while results.count > 0 {
            out.append((results.topNode, results.topScore))
            results.popTop()
        }
        return out.reversed()
    }

    /// The HNSW neighbour heuristic: take candidates best first, skipping one that is more similar to an
    /// already chosen neighbour than to the base (which keeps links to other clusters), then fill up
    /// with the skipped ones.
    private func selectNeighbors(_ candidates: [(node: Int, score: Float)], limit: Int) -> [(node: Int, score: Float)] {
        var chosen: [(node: Int, score: Float)] = []
        chosen.reserveCapacity(limit)
        var skipped: [(node: Int, score: Float)] = []
        for candidate in candidates {
            if chosen.count >= limit { break }
            var keep = true
            for other in chosen where similarity(candidate.node, other.node) > candidate.score {
                keep = false
                break
            }
            if keep { chosen.append(candidate) } else { skipped.append(candidate) }
        }
        for candidate in skipped where chosen.count < limit { chosen.append(candidate) }
        return chosen
    }

    /// Cuts the links of `node` on `layer`, plus `adding`, down to `limit` with the neighbour heuristic.
    private func prune(_ node: Int, layer: Int, limit: Int, adding: Int32) {
        var scored = links(node, layer).compactMap { n -> (node: Int, score: Float)? in
            isNode(n, on: layer) ? (node: Int(n), score: similarity(node, Int(n))) : nil
        }
        scored.append((node: Int(adding), score: similarity(node, Int(adding))))
        scored.sort { $0.score > $1.score }
        setLinks(node, layer, selectNeighbors(scored, limit: limit).map { Int32($0.node) })
    }
}

/// The per-search working memory of ``HNSWGraph``: a generation-stamped visited set, the gathered
/// neighbours and their scores, and two heaps, kept between searches so a search allocates nothing but its
/// result. One per searching thread.
struct HNSWScratch {
    fileprivate let visited = MappedBuffer<UInt32>()
    private var mark: UInt32 = 0
    fileprivate let candidates = MinHeap()
    fileprivate let results = MinHeap()
    /// Room for one neighbour list's unvisited nodes and their scores.
    private let gatheredBuffer = MappedBuffer<Int32>()
    private let scoresBuffer = MappedBuffer<Float>()
    fileprivate var gathered: UnsafeMutablePointer<Int32> { gatheredBuffer.base }
    fileprivate var scores: UnsafeMutablePointer<Float> { scoresBuffer.base }

    mutating func reserve(nodes: Int, links: Int = 0) {
        if visited.count < nodes {
            visited.append(repeating: 0, count: max(nodes, visited.count * 2) - visited.count)
        }
        gatheredBuffer.reserve(links)
        scoresBuffer.reserve(links)
    }

    fileprivate mutating func nextMark() -> UInt32 {
        mark &+= 1
        if mark == 0 {
            visited.base.update(repeating: 0, count: visited.count)
            mark = 1
        }
        return mark
    }
}

/// A binary min-heap of (node, score) in two fixed-capacity buffers that grow (doubling) only when full,
/// so a search reusing one allocates nothing. Owned by one ``HNSWScratch``; not shared across threads.
final class MinHeap {
    private var nodes: UnsafeMutablePointer<Int32>
    private var scores: UnsafeMutablePointer<Float>
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int = 256) {
        self.capacity = capacity
        nodes = .allocate(capacity: capacity)
        scores = .allocate(capacity: capacity)
    }

    deinit {
        nodes.deallocate()
        scores.deallocate()
    }

    var topNode: Int { Int(nodes[0]) }
    var topScore: Float { scores[0] }

    func removeAll() { count = 0 }

    private func grow() {
        let newCapacity = capacity * 2
        let newNodes = UnsafeMutablePointer<Int32>.allocate(capacity: newCapacity)
        let newScores = UnsafeMutablePointer<Float>.allocate(capacity: newCapacity)
        newNodes.update(from: nodes, count: count)
        newScores.update(from: scores, count: count)
        nodes.deallocate()
        scores.deallocate()
        nodes = newNodes
        scores = newScores
        capacity = newCapacity
    }

    func push(_ node: Int, _ score: Float) {
        if count == capacity { grow() }
        var child = count
        count += 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard score < scores[parent] else { break }
            scores[child] = scores[parent]
            nodes[child] = nodes[parent]
            child = parent
        }
        scores[child] = score
        nodes[child] = Int32(node)
    }

    func popTop() {
        guard count > 0 else { return }
        count -= 1
        let n = count
        guard n > 0 else { return }
        let lastScore = scores[n]
        let lastNode = nodes[n]
        var parent = 0
        while true {
            let left = 2 * parent + 1
            guard left < n else { break }
            let right = left + 1
            let child = right < n && scores[right] < scores[left] ? right : left
            guard scores[child] < lastScore else { break }
            scores[parent] = scores[child]
            nodes[parent] = nodes[child]
            parent = child
        }
        scores[parent] = lastScore
        nodes[parent] = lastNode
    }
}
