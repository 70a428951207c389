/// An in-place, unstable sort of (value, row) pairs by value: quicksort with a three-way
/// partition (runs of equal values cost one pass) and insertion sort for short ranges. Faster
/// than the standard library's stable sort for the many small sorts of tree growing.
enum PairSort {
    static func sort(_ a: UnsafeMutableBufferPointer<(Double, Int32)>) {
        guard let base = a.baseAddress, a.count > 1 else { return }
        sort(base, 0, a.count - 1)
    }

    private static func sort(_ a: UnsafeMutablePointer<(Double, Int32)>, _ lo: Int, _ hi: Int) {
        var lo = lo
        var hi = hi
        while hi - lo > 16 {
            // Median of three as the pivot.
            let mid = lo + (hi - lo) / 2
            if a[mid].0 < a[lo].0 { swap(a, mid, lo) }
            if a[hi].0 < a[lo].0 { swap(a, hi, lo) }
            if a[hi].0 < a[mid].0 { swap(a, hi, mid) }
            let pivot = a[mid].0
            // Three-way partition: [lo, lt) < pivot, [lt, i) == pivot, (gt, hi] > pivot.
            var lt = lo
            var i = lo
            var gt = hi
            while i <= gt {
                let v = a[i].0
                if v < pivot {
                    swap(a, lt, i)
                    lt += 1
                    i += 1
                } else if v > pivot {
                    swap(a, i, gt)
                    gt -= 1
                } else {
                    i += 1
                }
            }
            // Recurse into the smaller side, loop on the larger.
            if lt - lo < hi - gt {
                sort(a, lo, lt - 1)
                lo = gt + 1
            } else {
                sort(a, gt + 1, hi)
                hi = lt - 1
            }
        }
        if hi <= lo { return }
        for i in (lo + 1)...hi {
            let item = a[i]
            var j = i - 1
            while j >= lo && a[j].0 > item.0 {
                a[j + 1] = a[j]
                j -= 1
            }
            a[j + 1] = item
        }
    }

    @inline(__always)
    private static func swap(_ a: UnsafeMutablePointer<(Double, Int32)>, _ i: Int, _ j: Int) {
        let t = a[i]
        a[i] = a[j]
        a[j] = t
    }
}
