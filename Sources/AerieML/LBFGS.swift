/// Limited-memory BFGS minimisation with a backtracking (Armijo) line search.
enum LBFGS {
    /// Minimises `objective` (value and gradient) from `start`. Stops when the largest gradient
    /// component falls below `tolerance` or after `maxIterations`.
    static func minimize(
        start: [Double], maxIterations: Int, tolerance: Double, memory: Int = 10,
        objective: ([Double]) -> (Double, [Double])
    ) -> (x: [Double], iterations: Int) {
        var x = start
        var (f, g) = objective(x)
        var sHistory: [[Double]] = []
        var yHistory: [[Double]] = []
        var rhoHistory: [Double] = []
        var iteration = 0
        let n = x.count
        while iteration < maxIterations {
            if g.reduce(0, { max($0, abs($1)) }) < tolerance { break }
            iteration += 1
            // Two-loop recursion: d = -H g.
            var q = g
            var alphas = [Double](repeating: 0, count: sHistory.count)
            for k in stride(from: sHistory.count - 1, through: 0, by: -1) {
                let a = rhoHistory[k] * dot(sHistory[k], q)
                alphas[k] = a
                for i in 0..<n { q[i] -= a * yHistory[k][i] }
            }
            if let s = sHistory.last, let y = yHistory.last {
                let gamma = dot(s, y) / max(dot(y, y), 1e-300)
                for i in 0..<n { q[i] *= gamma }
            } else {
                let gn = max(dot(g, g).squareRoot(), 1e-300)
                for i in 0..<n { q[i] /= gn }
            }
            for k in 0..<sHistory.count {
                let b = rhoHistory[k] * dot(yHistory[k], q)
                for i in 0..<n { q[i] += (alphas[k] - b) * sHistory[k][i] }
            }
            var direction = q.map { -$0 }
            var slope = dot(g, direction)
            if slope >= 0 {  // not a descent direction: restart with steepest descent
                direction = g.map { -$0 }
                slope = dot(g, direction)
                sHistory.removeAll()
                yHistory.removeAll()
                rhoHistory.removeAll()
            }
            var step = 1.0
            var accepted = false
            var newX = x
            var newF = f
            var newG = g
            for _ in 0..<40 {
                for i in 0..<n { newX[i] = x[i] + step * direction[i] }
                (newF, newG) = objective(newX)
                if newF <= f + 1e-4 * step * slope {
                    accepted = true
                    break
                }
                step *= 0.5
            }
            if !accepted { break }
            let s = zip(newX, x).map { $0 - $1 }
            let y = zip(newG, g).map { $0 - $1 }
            let sy = dot(s, y)
            if sy > 1e-10 {
                sHistory.append(s)
                yHistory.append(y)
                rhoHistory.append(1 / sy)
                if sHistory.count > memory {
                    sHistory.removeFirst()
                    yHistory.removeFirst()
                    rhoHistory.removeFirst()
                }
            }
            let decrease = f - newF
            x = newX
            f = newF
            g = newG
            if decrease <= 1e-12 * max(abs(f), 1) { break }
        }
        return (x, iteration)
    }

    static func dot(_ a: [Double], _ b: [Double]) -> Double {
        var s = 0.0
        for i in 0..<a.count { s += a[i] * b[i] }
        return s
    }
}
