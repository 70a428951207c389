import AerieCore
import COpenBLAS
import Foundation

/// An in-process index of float vectors by id with exact top-k search on BLAS (one `cblas_sgemv` per
/// query), optional metadata filters, and optional persistence in its own files (``VectorFiles``:
/// snapshot + append log, replayed at start).
///
/// An actor: concurrent readers and writers are serialised, so every search sees a consistent index.
public actor VectorIndex {
    public struct Configuration: Sendable {
        public var dimensions: Int
        public var metric: VectorMetric
        /// Where the snapshot and log live; `nil` keeps the index in memory only.
        public var directory: URL?
        /// fsync the log after every write (safe against power loss; slower).
        public var syncEveryWrite: Bool = false
        /// The log is folded into a new snapshot once it is larger than this many bytes
        /// and larger than the snapshot would be.
        public var compactionThreshold: Int = 64 << 20
        /// When and how unfiltered searches switch to the approximate HNSW index; `nil` keeps every
        /// search exact.
        public var approximate: Approximate? = Approximate()

        /// Settings of the approximate index.
        public struct Approximate: Sendable, Hashable {
            /// Unfiltered searches are approximate from this many vectors on (filtered ones stay exact).
            public var threshold: Int = 20_000
            /// Links per node (twice as many on the bottom layer).
            public var m: Int = 16
            /// Candidates considered while inserting.
            public var efConstruction: Int = 100
            /// Candidates considered while searching; raise it for better recall at some speed.
            public var efSearch: Int = 64

            public init(threshold: Int = 20_000, m: Int = 16, efConstruction: Int = 100, efSearch: Int = 64) {
                self.threshold = threshold
                self.m = m
                self.efConstruction = efConstruction
                self.efSearch = efSearch
            }
        }

        public init(dimensions: Int, metric: VectorMetric = .cosine, directory: URL? = nil) {
            self.dimensions = dimensions
            self.metric = metric
            self.directory = directory
        }
    }

    public let configuration: Configuration
    private var state: VectorRows
    private var generation: UInt64 = 0
    private let files: VectorFiles?
    /// The approximate index, built on the first search past the threshold and kept up to date after.
    private var graph: HNSWGraph?
    private var nodeOf: [String: Int] = [:]
    private var idOfNode: [String] = []

    /// Opens the index, loading the snapshot and replaying the log when a directory is configured.
    public init(configuration: Configuration) throws {
        guard configuration.dimensions > 0 else {
            throw AerieError.invalid("A vector index needs at least one dimension.", field: "dimensions")
        }
        self.configuration = configuration
        var state = VectorRows(dimensions: configuration.dimensions)
        if let directory = configuration.directory {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let files = VectorFiles(
                directory: directory, dimensions: configuration.dimensions, metric: configuration.metric,
                syncEveryWrite: configuration.syncEveryWrite)
            let snapshot = try files.readSnapshot()
            for entry in snapshot.entries {
                state.apply(.upsert(id: entry.id, vector: entry.vector, metadata: entry.metadata))
            }
            for operation in try files.replayLog(generation: snapshot.generation) {
                state.apply(operation)
            }
            self.generation = snapshot.generation
            self.files = files
        } else {
            self.files = nil
        }
        self.state = state
    }

    /// The number of vectors.
    public var count: Int { state.ids.count }

    public func contains(_ id: String) -> Bool { state.rows[id] != nil }

    /// The stored vector (normalised for `.cosine`) and metadata of `id`.
    public func get(_ id: String) -> (vector: [Float], metadata: [String: String])? {
        guard let row = state.rows[id] else { return nil }
        return (state.vector(at: row), state.metadata[row])
    }

    /// Adds `id`, or replaces its vector and metadata.
    public func upsert(id: String, vector: [Float], metadata: [String: String] = [:]) throws {
        try upsert([(id, vector, metadata)])
    }

    /// Adds or replaces several vectors with one log write.
    public func upsert(_ items: [(id: String, vector: [Float], metadata: [String: String])]) throws {
        var operations: [VectorFiles.Operation] = []
        operations.reserveCapacity(items.count)
        for item in items {
            operations.append(.upsert(id: item.id, vector: try prepare(item.vector), metadata: item.metadata))
        }
        try files?.append(operations)
        for operation in operations {
            state.apply(operation)
            updateGraph(operation)
        }
        try compactIfNeeded()
    }

    /// Removes `id`; returns whether it was there.
    @discardableResult
    public func remove(id: String) throws -> Bool {
        guard state.rows[id] != nil else { return false }
        try files?.append([.remove(id: id)])
        state.apply(.remove(id: id))
        updateGraph(.remove(id: id))
        try compactIfNeeded()
        return true
    }

    /// The `k` best matches for `query`, best first, among the vectors whose metadata holds every
    /// key-value pair of `filter`.
    ///
    /// Without a filter, an index of at least ``Configuration/Approximate/threshold`` vectors answers
    /// from its HNSW graph (approximate) unless `exact` is set.
    public func search(_ query: [Float], k: Int, filter: [String: String] = [:], exact: Bool = false) throws -> [VectorMatch] {
        let q = try prepare(query)
        let n = state.ids.count
        guard k > 0, n > 0 else { return [] }
        if !exact, filter.isEmpty, let approximate = configuration.approximate, n >= approximate.threshold {
            let found = approximateSearch(q, k: k, approximate: approximate)
            // Deleted nodes can crowd out live ones; then answer exactly.
            if found.count >= min(k, n) { return found }
        }
        let d = configuration.dimensions
        var scores = [Float](repeating: 0, count: n)
        state.matrix.withUnsafeBufferPointer { m in
            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(d), 1, m.baseAddress, Int32(d), q, 1, 0, &scores, 1)
        }
        var best = TopK(k: k)
        for row in 0..<n where best.accepts(scores[row]) {
            if filter.isEmpty || filter.allSatisfy({ state.metadata[row][$0.key] == $0.value }) {
                best.insert(row: row, score: scores[row])
            }
        }
        return best.sorted().map { VectorMatch(id: state.ids[$0.row], score: $0.score, metadata: state.metadata[$0.row]) }
    }

    /// Folds the log into a new snapshot now (also done automatically past the compaction threshold).
    public func compact() throws {
        guard let files else { return }
        let entries = state.ids.indices.map { row in
            (id: state.ids[row], vector: state.vector(at: row), metadata: state.metadata[row])
        }
        try files.writeSnapshot(VectorFiles.Snapshot(generation: generation + 1, entries: entries))
        generation += 1
    }

    private func approximateSearch(_ query: [Float], k: Int, approximate: Configuration.Approximate) -> [VectorMatch] {
        if graph == nil {
            var built = HNSWGraph(
                dimensions: configuration.dimensions,
                parameters: .init(m: approximate.m, efConstruction: approximate.efConstruction, efSearch: approximate.efSearch))
            nodeOf = [:]
            idOfNode = []
            for row in state.ids.indices {
                let node = built.insert(state.vector(at: row))
                nodeOf[state.ids[row]] = node
                idOfNode.append(state.ids[row])
            }
            graph = built
        }
        guard var searched = graph else { return [] }
        let found = searched.search(query, k: k)
        graph = searched
        return found.compactMap { hit in
            let id = idOfNode[hit.node]
            guard let row = state.rows[id] else { return nil }
            return VectorMatch(id: id, score: hit.score, metadata: state.metadata[row])
        }
    }

    private func updateGraph(_ operation: VectorFiles.Operation) {
        guard var updated = graph else { return }
        graph = nil  // keep the graph uniquely referenced while it changes
        switch operation {
        case .upsert(let id, let vector, _):
            if let old = nodeOf[id] { updated.markDeleted(old) }
            let node = updated.insert(vector)
            nodeOf[id] = node
            idOfNode.append(id)
        case .remove(let id):
            if let old = nodeOf.removeValue(forKey: id) { updated.markDeleted(old) }
        }
        // Rebuild (lazily, on the next search) once half the nodes are dead.
        if updated.deletedCount * 2 <= updated.nodeCount { graph = updated }
    }

    private func compactIfNeeded() throws {
        guard let files else { return }
        let size = files.logSize()
        if size > configuration.compactionThreshold, size > state.ids.count * (configuration.dimensions * 4 + 32) {
            try compact()
        }
    }

    private func prepare(_ vector: [Float]) throws -> [Float] {
        guard vector.count == configuration.dimensions else {
            throw AerieError.invalid(
                "The vector has \(vector.count) dimensions; this index holds \(configuration.dimensions).", field: "vector")
        }
        guard vector.allSatisfy(\.isFinite) else {
            throw AerieError.invalid("The vector contains NaN or infinity.", field: "vector")
        }
        guard configuration.metric == .cosine else { return vector }
        let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard norm > 0 else {
            throw AerieError.invalid("A zero vector has no direction; cosine similarity is undefined for it.", field: "vector")
        }
        return vector.map { $0 / norm }
    }
}

/// The index's rows: a row-major `count × dimensions` matrix with each row's id and metadata.
/// Removing a row moves the last row into its place.
struct VectorRows {
    let dimensions: Int
    var matrix: [Float] = []
    var ids: [String] = []
    var metadata: [[String: String]] = []
    var rows: [String: Int] = [:]

    init(dimensions: Int) {
        self.dimensions = dimensions
    }

    func vector(at row: Int) -> [Float] {
        Array(matrix[row * dimensions..<(row + 1) * dimensions])
    }

    mutating func apply(_ operation: VectorFiles.Operation) {
        let d = dimensions
        switch operation {
        case .upsert(let id, let vector, let meta):
            if let row = rows[id] {
                matrix.replaceSubrange(row * d..<(row + 1) * d, with: vector)
                metadata[row] = meta
            } else {
                rows[id] = ids.count
                ids.append(id)
                metadata.append(meta)
                matrix.append(contentsOf: vector)
            }
        case .remove(let id):
            guard let row = rows.removeValue(forKey: id) else { return }
            let last = ids.count - 1
            if row != last {
                for k in 0..<d { matrix[row * d + k] = matrix[last * d + k] }
                ids[row] = ids[last]
                metadata[row] = metadata[last]
                rows[ids[row]] = row
            }
            ids.removeLast()
            metadata.removeLast()
            matrix.removeLast(d)
        }
    }
}

/// The k largest scores seen, kept in a min-heap.
struct TopK {
    let k: Int
    private var heap: [(row: Int, score: Float)] = []

    init(k: Int) {
        self.k = k
        heap.reserveCapacity(k)
    }

    func accepts(_ score: Float) -> Bool {
        heap.count < k || score > heap[0].score
    }

    mutating func insert(row: Int, score: Float) {
        if heap.count < k {
            heap.append((row, score))
            var child = heap.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard heap[child].score < heap[parent].score else { break }
                heap.swapAt(child, parent)
                child = parent
            }
        } else if score > heap[0].score {
            heap[0] = (row, score)
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var smallest = parent
                if left < heap.count, heap[left].score < heap[smallest].score { smallest = left }
                if right < heap.count, heap[right].score < heap[smallest].score { smallest = right }
                if smallest == parent { break }
                heap.swapAt(parent, smallest)
                parent = smallest
            }
        }
    }

    func sorted() -> [(row: Int, score: Float)] {
        heap.sorted { $0.score > $1.score || ($0.score == $1.score && $0.row < $1.row) }
    }
}
