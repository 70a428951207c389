#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Grows one CART tree depth first on weighted rows (a bootstrap sample is a row weight per
/// distinct row drawn, as scikit-learn does it, so repeated rows cost nothing extra).
///
/// Large nodes find splits from per-bin histograms of the quantized features (linear in the
/// node's rows); nodes below `exactBelow` rows sort the raw values and try every threshold
/// between distinct values, so the deep levels of the tree are exact CART. Rows are kept in one
/// index array partitioned in place; all scratch memory is allocated once per tree.
struct TreeBuilder {
    /// Below this many rows a node searches exact thresholds.
    static let defaultExactBelow = 512

    /// Nodes at most this large sort a feature directly rather than bucketing it by bin first.
    static let insertionSortRows = 32

    let data: TreeData
    let weights: [Double]
    let parameters: TreeParameters
    let exactBelow: Int
    var rng: SeededGenerator
    var feature: [Int32] = []
    var threshold: [Double] = []
    var right: [Int32] = []
    var leafValues: [Double] = []
    var leafCount: Int32 = 0
    var featureOrder: [Int]

    init(data: TreeData, weights: [Double], parameters: TreeParameters, seed: UInt64, exactBelow: Int) {
        precondition(weights.count == data.rows, "one weight per data row")
        self.data = data
        self.weights = weights
        self.parameters = parameters
        self.exactBelow = exactBelow
        rng = SeededGenerator(seed: seed)
        featureOrder = Array(0..<data.cols)
    }

    /// The training arrays, pinned for the hot loops.
    struct Inputs {
        let x: UnsafeBufferPointer<Double>
        let bins: UnsafeBufferPointer<UInt8>
        let edges: UnsafeBufferPointer<Double>
        let weight: UnsafeBufferPointer<Double>
        let target: UnsafeBufferPointer<Double>
        let classIndex: UnsafeBufferPointer<Int32>
    }

    /// Scratch memory reused by every node.
    struct Scratch {
        let pairs: UnsafeMutableBufferPointer<(Double, Int32)>
        /// Classification: `classes` weights per bin; regression: weight and weighted target sum per bin.
        let histogram: UnsafeMutableBufferPointer<Double>
        let binRows: UnsafeMutableBufferPointer<Int32>
        let countsLeft: UnsafeMutableBufferPointer<Double>
        let countsTotal: UnsafeMutableBufferPointer<Double>

        init(rows: Int, bins: Int, classes: Int) {
            pairs = .allocate(capacity: max(1, rows))
            histogram = .allocate(capacity: bins * max(2, classes))
            binRows = .allocate(capacity: bins + 1)
            countsLeft = .allocate(capacity: max(1, classes))
            countsTotal = .allocate(capacity: max(1, classes))
        }

        func deallocate() {
            pairs.deallocate()
            histogram.deallocate()
            binRows.deallocate()
            countsLeft.deallocate()
            countsTotal.deallocate()
        }
    }

    struct Split {
        var feature = -1
        var threshold = 0.0
        var score = -Double.infinity
    }

    /// Parent statistics of a node.
    struct NodeTotals {
        var weight = 0.0
        /// Regression: the weighted target sum.
        var sum = 0.0
    }

    mutating func grow(_ indices: inout [Int32]) {
        let scratch = Scratch(rows: indices.count, bins: data.maxBins, classes: data.classCount)
        defer { scratch.deallocate() }
        let d = data
        d.columns.withUnsafeBufferPointer { x in
            d.bins.withUnsafeBufferPointer { bins in
                d.binEdges.withUnsafeBufferPointer { edges in
                    weights.withUnsafeBufferPointer { w in
                        d.targets.withUnsafeBufferPointer { y in
                            d.classIndex.withUnsafeBufferPointer { cls in
                                let inputs = Inputs(x: x, bins: bins, edges: edges, weight: w, target: y, classIndex: cls)
                                indices.withUnsafeMutableBufferPointer { buffer in
                                    node(buffer, depth: 0, inputs, scratch)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    @inline(__always)
    private static func xlogx(_ v: Double) -> Double { v > 0 ? v * log(v) : 0 }

    private mutating func makeLeaf(_ idx: UnsafeMutableBufferPointer<Int32>, _ totals: NodeTotals, _ s: Scratch) {
        feature.append(-1)
        threshold.append(0)
        right.append(leafCount)
        leafCount += 1
        let k = max(1, data.classCount)
        guard totals.weight > 0 else {  // only for an empty training set: a leaf predicting zeros
            leafValues.append(contentsOf: repeatElement(0, count: k))
            return
        }
        if data.classCount > 0 {
            for c in 0..<k { leafValues.append(s.countsTotal[c] / totals.weight) }
        } else {
            leafValues.append(totals.sum / totals.weight)
        }
    }

    private mutating func node(_ idx: UnsafeMutableBufferPointer<Int32>, depth: Int, _ inp: Inputs, _ s: Scratch) {
        let n = idx.count
        let p = parameters
        let k = data.classCount
        var totals = NodeTotals()
        var pure = true
        if k > 0 {
            for c in 0..<k { s.countsTotal[c] = 0 }
        }
        if n > 0 {
            let first = inp.target[Int(idx[0])]
            for i in idx {
                let row = Int(i)
                let w = inp.weight[row]
                let t = inp.target[row]
                totals.weight += w
                if k > 0 {
                    s.countsTotal[Int(inp.classIndex[row])] += w
                } else {
                    totals.sum += w * t
                }
                if t != first { pure = false }
            }
        }
        if n == 0 || pure || n < p.minSamplesSplit || n < 2 * p.minSamplesLeaf || depth >= (p.maxDepth ?? Int.max) {
            makeLeaf(idx, totals, s)
            return
        }
        let parentScore: Double
        if k > 0 {
            var v = 0.0
            if p.criterion == .entropy {
                for c in 0..<k { v += TreeBuilder.xlogx(s.countsTotal[c]) }
                v -= TreeBuilder.xlogx(totals.weight)
            } else {
                for c in 0..<k { v += s.countsTotal[c] * s.countsTotal[c] }
                v /= totals.weight
            }
            parentScore = v
        } else {
            parentScore = totals.sum * totals.sum / totals.weight
        }
        let best = findSplit(idx, totals, inp, s)
        guard best.feature >= 0, best.score > parentScore + 1e-12 * max(1, abs(parentScore)) else {
            makeLeaf(idx, totals, s)
            return
        }
        // Partition: rows with x <= threshold to the front.
        let col = best.feature * data.rows
        var lo = 0
        var hi = n - 1
        while lo <= hi {
            if inp.x[col + Int(idx[lo])] <= best.threshold {
                lo += 1
            } else {
                idx.swapAt(lo, hi)
                hi -= 1
            }
        }
        let me = feature.count
        feature.append(Int32(best.feature))
        threshold.append(best.threshold)
        right.append(0)
        node(UnsafeMutableBufferPointer(rebasing: idx[0..<lo]), depth: depth + 1, inp, s)
        right[me] = Int32(feature.count)
        node(UnsafeMutableBufferPointer(rebasing: idx[lo..<n]), depth: depth + 1, inp, s)
    }

    private mutating func findSplit(
        _ idx: UnsafeMutableBufferPointer<Int32>, _ totals: NodeTotals, _ inp: Inputs, _ s: Scratch
    ) -> Split {
        let wanted = min(parameters.maxFeatures ?? data.cols, data.cols)
        let exact = idx.count < exactBelow
        var best = Split()
        var tried = 0
        var f = 0
        while f < data.cols && tried < wanted {
            // Draw the next feature at random among those not yet drawn.
            let pick = f + rng.index(below: data.cols - f)
            featureOrder.swapAt(f, pick)
            let j = featureOrder[f]
            f += 1
            let varies = exact
                ? exactSplit(feature: j, idx, totals, inp, s, &best)
                : histogramSplit(feature: j, idx, totals, inp, s, &best)
            if varies { tried += 1 }
        }
        return best
    }

    /// Tries every threshold between distinct sorted values of feature `j`. Returns false when
    /// the feature is constant in the node (it then does not count as tried).
    private func exactSplit(
        feature j: Int, _ idx: UnsafeMutableBufferPointer<Int32>, _ totals: NodeTotals, _ inp: Inputs, _ s: Scratch,
        _ best: inout Split
    ) -> Bool {
        let n = idx.count
        let minLeaf = max(1, parameters.minSamplesLeaf)
        let col = j * data.rows
        let pairs = s.pairs
        let first = inp.x[col + Int(idx[0])]
        var constant = true
        if n <= TreeBuilder.insertionSortRows || data.binCount[j] > 4 * n {
            for m in 0..<n {
                let v = inp.x[col + Int(idx[m])]
                pairs[m] = (v, idx[m])
                if v != first { constant = false }
            }
            if constant { return false }
            PairSort.sort(UnsafeMutableBufferPointer(rebasing: pairs[0..<n]))
        } else {
            // Bucket the rows by bin (bins follow value order), then sort within each bin.
            let nb = data.binCount[j]
            let bins = UnsafeBufferPointer(rebasing: inp.bins[col..<(col + data.rows)])
            let start = s.binRows
            for b in 0...nb { start[b] = 0 }
            for i in idx { start[Int(bins[Int(i)]) &+ 1] &+= 1 }
            for b in 0..<nb { start[b + 1] &+= start[b] }
            for i in idx {
                let row = Int(i)
                let v = inp.x[col &+ row]
                let b = Int(bins[row])
                pairs[Int(start[b])] = (v, i)
                start[b] &+= 1
                if v != first { constant = false }
            }
            if constant { return false }
            // start[b] is now the end of bin b.
            var lo = 0
            for b in 0..<nb {
                let hi = Int(start[b])
                if hi - lo > 1 { PairSort.sort(UnsafeMutableBufferPointer(rebasing: pairs[lo..<hi])) }
                lo = hi
            }
        }
        let classes = data.classCount
        let w = inp.weight
        let total = totals.weight
        if classes > 0 {
            let left = s.countsLeft
            let counts = s.countsTotal
            for c in 0..<classes { left[c] = 0 }
            var wl = 0.0
            if parameters.criterion == .entropy {
                var sumLeft = 0.0  // Σ cL log cL
                var sumRight = 0.0
                for c in 0..<classes { sumRight += TreeBuilder.xlogx(counts[c]) }
                for m in 0..<(n - 1) {
                    let row = Int(pairs[m].1)
                    let c = Int(inp.classIndex[row])
                    let wi = w[row]
                    let l = left[c]
                    let r = counts[c] - l
                    sumLeft += TreeBuilder.xlogx(l + wi) - TreeBuilder.xlogx(l)
                    sumRight += TreeBuilder.xlogx(r - wi) - TreeBuilder.xlogx(r)
                    left[c] = l + wi
                    wl += wi
                    let nl = m + 1
                    if nl < minLeaf || n - nl < minLeaf || pairs[m].0 == pairs[m + 1].0 { continue }
                    let sc = sumLeft - TreeBuilder.xlogx(wl) + sumRight - TreeBuilder.xlogx(total - wl)
                    if sc > best.score { best = Split(feature: j, threshold: midpoint(pairs[m].0, pairs[m + 1].0), score: sc) }
                }
            } else {
                var sqLeft = 0.0
                var sqRight = 0.0
                for c in 0..<classes { sqRight += counts[c] * counts[c] }
                for m in 0..<(n - 1) {
                    let row = Int(pairs[m].1)
                    let c = Int(inp.classIndex[row])
                    let wi = w[row]
                    let l = left[c]
                    let r = counts[c] - l
                    sqLeft += wi * (2 * l + wi)
                    sqRight += wi * (wi - 2 * r)
                    left[c] = l + wi
                    wl += wi
                    let nl = m + 1
                    if nl < minLeaf || n - nl < minLeaf || pairs[m].0 == pairs[m + 1].0 { continue }
                    let sc = sqLeft / wl + sqRight / (total - wl)
                    if sc > best.score { best = Split(feature: j, threshold: midpoint(pairs[m].0, pairs[m + 1].0), score: sc) }
                }
            }
        } else {
            var sumLeft = 0.0
            var wl = 0.0
            for m in 0..<(n - 1) {
                let row = Int(pairs[m].1)
                let wi = w[row]
                sumLeft += wi * inp.target[row]
                wl += wi
                let nl = m + 1
                if nl < minLeaf || n - nl < minLeaf || pairs[m].0 == pairs[m + 1].0 { continue }
                let r = totals.sum - sumLeft
                let sc = sumLeft * sumLeft / wl + r * r / (total - wl)
                if sc > best.score { best = Split(feature: j, threshold: midpoint(pairs[m].0, pairs[m + 1].0), score: sc) }
            }
        }
        return true
    }

    /// Tries the edges between the bins of feature `j` that hold rows of the node, from a
    /// histogram built in one pass. Returns false when all rows share one bin.
    private func histogramSplit(
        feature j: Int, _ idx: UnsafeMutableBufferPointer<Int32>, _ totals: NodeTotals, _ inp: Inputs, _ s: Scratch,
        _ best: inout Split
    ) -> Bool {
        let n = idx.count
        let minLeaf = max(1, parameters.minSamplesLeaf)
        let nb = data.binCount[j]
        if nb < 2 { return false }
        let classes = data.classCount
        let width = classes > 0 ? classes : 2
        let hist = s.histogram
        let binRows = s.binRows
        for b in 0..<(nb * width) { hist[b] = 0 }
        for b in 0..<nb { binRows[b] = 0 }
        let bins = UnsafeBufferPointer(rebasing: inp.bins[(j * data.rows)..<((j + 1) * data.rows)])
        let w = inp.weight
        if classes > 0 {
            for i in idx {
                let row = Int(i)
                let b = Int(bins[row])
                hist[b &* classes &+ Int(inp.classIndex[row])] += w[row]
                binRows[b] &+= 1
            }
        } else {
            for i in idx {
                let row = Int(i)
                let b = Int(bins[row])
                let wi = w[row]
                hist[2 &* b] += wi
                hist[2 &* b &+ 1] += wi * inp.target[row]
                binRows[b] &+= 1
            }
        }
        var occupied = 0
        for b in 0..<nb where binRows[b] > 0 { occupied += 1 }
        if occupied < 2 { return false }
        let edges = UnsafeBufferPointer(rebasing: inp.edges[(j * data.maxBins)..<((j + 1) * data.maxBins)])
        let total = totals.weight
        var nl = 0
        var wl = 0.0
        if classes > 0 {
            let left = s.countsLeft
            let counts = s.countsTotal
            for c in 0..<classes { left[c] = 0 }
            let entropy = parameters.criterion == .entropy
            for b in 0..<(nb - 1) where binRows[b] > 0 {
                for c in 0..<classes {
                    let h = hist[b * classes + c]
                    left[c] += h
                    wl += h
                }
                nl += Int(binRows[b])
                if nl == n { break }
                if nl < minLeaf || n - nl < minLeaf { continue }
                let wr = total - wl
                var sc = 0.0
                if entropy {
                    for c in 0..<classes { sc += TreeBuilder.xlogx(left[c]) + TreeBuilder.xlogx(counts[c] - left[c]) }
                    sc -= TreeBuilder.xlogx(wl) + TreeBuilder.xlogx(wr)
                } else {
                    var sqLeft = 0.0
                    var sqRight = 0.0
                    for c in 0..<classes {
                        let l = left[c]
                        let r = counts[c] - l
                        sqLeft += l * l
                        sqRight += r * r
                    }
                    sc = sqLeft / wl + sqRight / wr
                }
                if sc > best.score { best = Split(feature: j, threshold: edges[b], score: sc) }
            }
        } else {
            var sumLeft = 0.0
            for b in 0..<(nb - 1) where binRows[b] > 0 {
                wl += hist[2 * b]
                sumLeft += hist[2 * b + 1]
                nl += Int(binRows[b])
                if nl == n { break }
                if nl < minLeaf || n - nl < minLeaf { continue }
                let r = totals.sum - sumLeft
                let sc = sumLeft * sumLeft / wl + r * r / (total - wl)
                if sc > best.score { best = Split(feature: j, threshold: edges[b], score: sc) }
            }
        }
        return true
    }
}
