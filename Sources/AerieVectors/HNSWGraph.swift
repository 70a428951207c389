import Foundation

/// A hierarchical navigable small-world graph (Malkov & Yashunin) over inner-product similarity: the
/// approximate index that ``VectorIndex`` searches once it holds more vectors than its threshold.
///
/// Nodes are never moved: a removed or replaced vector is marked deleted and skipped in results, and
/// the owner rebuilds the graph when too many nodes are deleted.
struct HNSWGraph {
    struct Parameters: Sendable, Hashable {
        /// Links per node on the upper layers (twice as many on layer 0).
        var m: Int = 16
        /// Candidates considered while inserting.
        var efConstruction: Int = 100
        /// Candidates considered while searching (at least k); higher is slower and more exact.
        var efSearch: Int = 64
    }

    let dimensions: Int
    let parameters: Parameters
    private(set) var vectors: [Float] = []
    private(set) var deleted: [Bool] = []
    private var links: [[[Int32]]] = []
    private var entryPoint: Int = -1
    private var maxLevel: Int = -1
    private var random: UInt64 = 0x2545_F491_4F6C_DD1D
    private var visited: [UInt32] = []
    private var visitMark: UInt32 = 0
    private(set) var deletedCount = 0

    init(dimensions: Int, parameters: Parameters) {
        self.dimensions = dimensions
        self.parameters = parameters
    }

    var nodeCount: Int { deleted.count }

    private func score(_ query: UnsafeBufferPointer<Float>, _ node: Int) -> Float {
        vectors.withUnsafeBufferPointer { v in
            guard let q = query.baseAddress, let v = v.baseAddress else { return 0 }
            return VectorKernels.dot(q, v + node * dimensions, count: dimensions)
        }
    }

    private mutating func randomLevel() -> Int {
        // xorshift64*; level = floor(-ln(U) / ln(m)).
        random ^= random >> 12
        random ^= random << 25
        random ^= random >> 27
        let u = Double((random &* 0x2545_F491_4F6C_DD1D) >> 11) / Double(1 << 53)
        return Int(-log(max(u, 1e-12)) / log(Double(max(parameters.m, 2))))
    }

    /// Adds a vector and returns its node number.
    mutating func insert(_ vector: [Float]) -> Int {
        let node = deleted.count
        vectors.append(contentsOf: vector)
        deleted.append(false)
        let level = randomLevel()
        links.append(Array(repeating: [], count: level + 1))
        visited.append(0)
        guard entryPoint >= 0 else {
            entryPoint = node
            maxLevel = level
            return node
        }
        vector.withUnsafeBufferPointer { query in
            var current = entryPoint
            var currentScore = score(query, current)
            var layer = maxLevel
            while layer > level {
                current = greedy(query, from: current, score: &currentScore, layer: layer)
                layer -= 1
            }
            var entries = [(node: current, score: currentScore)]
            for layer in stride(from: min(level, maxLevel), through: 0, by: -1) {
                let candidates = searchLayer(query, entries: entries, ef: parameters.efConstruction, layer: layer)
                let limit = layer == 0 ? 2 * parameters.m : parameters.m
                let chosen = selectNeighbors(candidates, limit: parameters.m)
                links[node][layer] = chosen.map { Int32($0.node) }
                for neighbor in chosen {
                    links[neighbor.node][layer].append(Int32(node))
                    if links[neighbor.node][layer].count > limit {
                        prune(neighbor.node, layer: layer, limit: limit)
                    }
                }
                entries = candidates
            }
        }
        if level > maxLevel {
            maxLevel = level
            entryPoint = node
        }
        return node
    }

    mutating func markDeleted(_ node: Int) {
        guard node < deleted.count, !deleted[node] else { return }
        deleted[node] = true
        deletedCount += 1
    }

    /// The best `k` live nodes for `query`, best first.
    mutating func search(_ query: [Float], k: Int, ef: Int? = nil) -> [(node: Int, score: Float)] {
        guard entryPoint >= 0, k > 0 else { return [] }
        return query.withUnsafeBufferPointer { query in
            var current = entryPoint
            var currentScore = score(query, current)
            var layer = maxLevel
            while layer > 0 {
                current = greedy(query, from: current, score: &currentScore, layer: layer)
                layer -= 1
            }
            let found = searchLayer(query, entries: [(current, currentScore)], ef: max(ef ?? parameters.efSearch, k), layer: 0)
            let deleted = self.deleted
            return Array(found.filter { !deleted[$0.node] }.prefix(k))
        }
    }

    private func greedy(_ query: UnsafeBufferPointer<Float>, from start: Int, score best: inout Float, layer: Int) -> Int {
        var current = start
        var improved = true
        while improved {
            improved = false
            for neighbor in links[current][layer] {
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
    private mutating func searchLayer(
        _ query: UnsafeBufferPointer<Float>, entries: [(node: Int, score: Float)], ef: Int, layer: Int
    ) -> [(node: Int, score: Float)] {
        visitMark &+= 1
        if visitMark == 0 {
            visited = Array(repeating: 0, count: visited.count)
            visitMark = 1
        }
        var candidates = Heap<Float>(maxFirst: true)  // best candidate first
        var results = Heap<Float>(maxFirst: false)  // worst result first
        for entry in entries {
            visited[entry.node] = visitMark
            candidates.push(entry.node, entry.score)
            results.push(entry.node, entry.score)
        }
        while results.count > ef { _ = results.pop() }
        while let candidate = candidates.pop() {
            if results.count >= ef, let worst = results.top, candidate.score < worst.score { break }
            for neighbor in links[candidate.node][layer] {
                let n = Int(neighbor)
                guard visited[n] != visitMark else { continue }
                visited[n] = visitMark
                let s = score(query, n)
                if results.count < ef || s > (results.top?.score ?? -.infinity) {
                    candidates.push(n, s)
                    results.push(n, s)
                    if results.count > ef { _ = results.pop() }
                }
            }
        }
        var out: [(node: Int, score: Float)] = []
        out.reserveCapacity(results.count)
        while let item = results.pop() { out.append(item) }
        return out.reversed()
    }

    /// The similarity of two stored nodes.
    private func similarity(_ a: Int, _ b: Int) -> Float {
        vectors.withUnsafeBufferPointer { v in
            guard let v = v.baseAddress else { return 0 }
            return VectorKernels.dot(v + a * dimensions, v + b * dimensions, count: dimensions)
        }
    }

    /// The HNSW neighbour heuristic: take candidates best first, skipping one that is more similar to an
    /// already chosen neighbour than to the base (which keeps links to other clusters), then fill up
    /// with the skipped ones.
    private func selectNeighbors(_ candidates: [(node: Int, score: Float)], limit: Int) -> [(node: Int, score: Float)] {
        var chosen: [(node: Int, score: Float)] = []
        var skipped: [(node: Int, score: Float)] = []
        for candidate in candidates {
            if chosen.count >= limit { break }
            if chosen.allSatisfy({ similarity(candidate.node, $0.node) <= candidate.score }) {
                chosen.append(candidate)
            } else {
                skipped.append(candidate)
            }
        }
        for candidate in skipped where chosen.count < limit { chosen.append(candidate) }
        return chosen
    }

    /// Cuts the links of `node` on `layer` down to `limit` with the neighbour heuristic.
    private mutating func prune(_ node: Int, layer: Int, limit: Int) {
        let scored = links[node][layer].map { (node: Int($0), score: similarity(node, Int($0))) }
        links[node][layer] = selectNeighbors(scored.sorted { $0.score > $1.score }, limit: limit).map { Int32($0.node) }
    }
}

/// A binary heap of (node, score), largest or smallest score on top.
struct Heap<Score: Comparable> {
    private var items: [(node: Int, score: Score)] = []
    let maxFirst: Bool

    init(maxFirst: Bool) { self.maxFirst = maxFirst }

    var count: Int { items.count }
    var top: (node: Int, score: Score)? { items.first }

    private func before(_ a: Score, _ b: Score) -> Bool { maxFirst ? a > b : a < b }

    mutating func push(_ node: Int, _ score: Score) {
        items.append((node, score))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard before(items[child].score, items[parent].score) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (node: Int, score: Score)? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var chosen = parent
                if left < items.count, before(items[left].score, items[chosen].score) { chosen = left }
                if right < items.count, before(items[right].score, items[chosen].score) { chosen = right }
                if chosen == parent { break }
                items.swapAt(parent, chosen)
                parent = chosen
            }
        }
        return first
    }
}
