import Dispatch
import Synchronization

/// Training data laid out for tree growing: features column-major, targets as class indices
/// (classification) or values (regression), and every feature quantized into at most 256 bins.
///
/// The bins let large nodes find splits from per-bin histograms in linear time instead of
/// sorting (as LightGBM and scikit-learn's HistGradientBoosting do). A feature with at most 256
/// distinct values gets one bin per value, so its histogram splits are exactly the sorted ones;
/// otherwise the bins hold about equally many rows and the edges between them are the
/// candidate thresholds at large nodes (small nodes still search exact thresholds).
public struct TreeData: Sendable {
    public let rows: Int
    public let cols: Int
    /// `columns[j * rows + i]` is feature `j` of row `i`.
    public let columns: [Double]
    /// Number of classes; 0 for regression.
    public let classCount: Int
    public let targets: [Double]
    /// The class index of each row (classification; empty for regression).
    let classIndex: [Int32]
    /// `bins[j * rows + i]` is the bin of feature `j` of row `i`; bins follow ascending values.
    let bins: [UInt8]
    /// Bins per feature (1 for a constant feature).
    let binCount: [Int]
    /// `binEdges[j * maxBins + b]` separates bins `b` and `b + 1` of feature `j`: the midpoint
    /// between the largest training value in bin `b` and the smallest in bin `b + 1`.
    let binEdges: [Double]
    /// Upper bound on bins per feature.
    let maxBins: Int

    /// Quantizes the features on `threads` threads (`nil`: all cores).
    public init(_ x: Matrix, targets: [Double], classCount: Int, threads: Int? = nil) {
        self.init(x, targets: targets, classCount: classCount, maxBins: 256, threads: threads)
    }

    /// `maxBins` (2…256) caps the bins per feature; tests use small values.
    init(_ x: Matrix, targets: [Double], classCount: Int, maxBins: Int, threads: Int? = nil) {
        rows = x.rows
        cols = x.cols
        let rows = x.rows
        let cols = x.cols
        var c = [Double](repeating: 0, count: rows * cols)
        x.values.withUnsafeBufferPointer { xv in
            c.withUnsafeMutableBufferPointer { cv in
                for i in 0..<rows {
                    for j in 0..<cols { cv[j * rows + i] = xv[i * cols + j] }
                }
            }
        }
        columns = c
        self.classCount = classCount
        self.targets = targets
        classIndex = classCount > 0 ? targets.map { Int32($0) } : []
        let binLimit = min(256, max(2, maxBins))
        self.maxBins = binLimit

        // Quantize the features in parallel; each writes its own slice.
        var bins = [UInt8](repeating: 0, count: rows * cols)
        var edges = [Double](repeating: 0, count: cols * binLimit)
        var counts = [Int](repeating: 1, count: cols)
        let columns = c
        bins.withUnsafeMutableBufferPointer { bv in
            edges.withUnsafeMutableBufferPointer { ev in
                counts.withUnsafeMutableBufferPointer { nv in
                    let out = SendablePointers(bins: bv, edges: ev, counts: nv)
                    ThreadCount.perform(iterations: cols, threads: ThreadCount.resolve(threads)) { j in
                        TreeData.quantize(
                            columns, feature: j, rows: rows, maxBins: binLimit,
                            bins: UnsafeMutableBufferPointer(rebasing: out.bins[(j * rows)..<((j + 1) * rows)]),
                            edges: UnsafeMutableBufferPointer(rebasing: out.edges[(j * binLimit)..<((j + 1) * binLimit)]),
                            count: out.counts.baseAddress.map { $0 + j })
                    }
                }
            }
        }
        self.bins = bins
        binEdges = edges
        binCount = counts
    }

    /// Output buffers shared by the parallel quantization; each task writes disjoint parts.
    private struct SendablePointers: @unchecked Sendable {
        let bins: UnsafeMutableBufferPointer<UInt8>
        let edges: UnsafeMutableBufferPointer<Double>
        let counts: UnsafeMutableBufferPointer<Int>
    }

    /// Bins one feature: one bin per distinct value when there are few, else about equally
    /// filled bins whose edges fall between distinct values.
    private static func quantize(
        _ columns: [Double], feature j: Int, rows: Int, maxBins: Int, bins: UnsafeMutableBufferPointer<UInt8>,
        edges: UnsafeMutableBufferPointer<Double>, count: UnsafeMutablePointer<Int>?
    ) {
        guard rows > 0 else { return }
        var pairs = [(Double, Int32)]()
        pairs.reserveCapacity(rows)
        columns.withUnsafeBufferPointer { cv in
            for i in 0..<rows { pairs.append((cv[j * rows + i], Int32(i))) }
        }
        pairs.sort { $0.0 < $1.0 }
        var distinct = 1
        for k in 1..<rows where pairs[k].0 != pairs[k - 1].0 { distinct += 1 }
        // Rows per bin when values must share bins; a run of equal values never splits.
        let target = distinct <= maxBins ? 0 : (rows + maxBins - 1) / maxBins
        var bin = 0
        var inBin = 0
        for k in 0..<rows {
            if k > 0, pairs[k].0 != pairs[k - 1].0, inBin >= target, bin < maxBins - 1 {
                edges[bin] = midpoint(pairs[k - 1].0, pairs[k].0)
                bin += 1
                inBin = 0
            }
            bins[Int(pairs[k].1)] = UInt8(bin)
            inBin += 1
        }
        count?.pointee = bin + 1
    }
}

/// A threshold between `a < b` that sends `a` left and `b` right under `x <= threshold`.
@inline(__always)
func midpoint(_ a: Double, _ b: Double) -> Double {
    let m = a + (b - a) / 2
    return m < b ? m : a
}
