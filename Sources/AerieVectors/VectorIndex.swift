import AerieCore
import Foundation

/// An in-process index of float vectors by id (one collection of the Vectors primitive; ``FileVectorStore``
/// hands them out by name): exact top-k on BLAS
/// (``ExactSearch``: sgemm over blocks of queries × a contiguous, 64-byte aligned matrix with a fused
/// partial top-k, on ``Configuration/searchThreads`` threads), an approximate HNSW index for unfiltered
/// searches above a configurable size, metadata filters (``VectorFilter``), and optional persistence in its
/// own files (``VectorFiles``: snapshot + append log, replayed at start).
///
/// An actor: concurrent readers and writers are serialised, so every search sees a consistent index.
///
/// `.euclidean` is answered exactly by the same inner-product kernels: a row is stored as `[v, ‖v‖²]` and a query
/// searched as `[2q, −1]`, whose inner product `2q·v − ‖v‖²` equals `‖q‖² − ‖q − v‖²`, so the ranking is the
/// distance's; the score is turned back into `−‖q − v‖`. Such a collection has no HNSW graph (the transformed
/// rows' inner products are no distance between rows): its searches are always exact.
public actor VectorIndex: Vectors {
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
        /// Threads an exact search over a large index splits its rows over (small indexes use one).
        public var searchThreads: Int = ProcessInfo.processInfo.activeProcessorCount

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

    public nonisolated let configuration: Configuration
    public nonisolated var dimensions: Int { configuration.dimensions }
    /// The stored rows' length: the dimensions, plus one for `.euclidean` (the row's squared norm).
    nonisolated var rowDimensions: Int { configuration.dimensions + (configuration.metric == .euclidean ? 1 : 0) }
    public nonisolated var metric: VectorMetric { configuration.metric }
    private var state: VectorRows
    private var generation: UInt64 = 0
    private let files: VectorFiles?
    /// The approximate index, built on the first search past the threshold and kept up to date after.
    /// Its nodes are the rows of `state.matrix` (no second copy of the vectors).
    private var graph: HNSWGraph?
    /// The approximate search's visited set and heaps, reused by every search.
    private var scratch = HNSWScratch()
    /// Candidates the approximate search considers (``Configuration/Approximate/efSearch`` until changed).
    public private(set) var efSearch: Int
    /// Set once the collection is dropped: every later call fails with `not-found`.
    private var dropped = false

    /// Opens the index, loading the snapshot and replaying the log when a directory is configured.
    public init(configuration: Configuration) throws {
        try VectorRules.validateDimensions(configuration.dimensions)
        var configuration = configuration
        if configuration.metric == .euclidean { configuration.approximate = nil }
        self.configuration = configuration
        self.efSearch = configuration.approximate?.efSearch ?? 64
        let rowDimensions = configuration.dimensions + (configuration.metric == .euclidean ? 1 : 0)
        var state = VectorRows(dimensions: rowDimensions)
        if let directory = configuration.directory {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let files = VectorFiles(
                directory: directory, dimensions: rowDimensions, metric: configuration.metric,
                syncEveryWrite: configuration.syncEveryWrite)
            let snapshot = try files.readSnapshot { id, vector, metadata in
                state.apply(.upsert(id: id, vector: vector, metadata: metadata))
            }
            let legacyLog = try files.replayLog(generation: snapshot.generation) { state.apply($0) }
            // A version-1 snapshot or log is rewritten in the current format before anything is appended.
            let legacy = snapshot.legacy || legacyLog
            self.generation = snapshot.generation
            self.files = files
            if legacy {
                try state.writeSnapshot(to: files, generation: snapshot.generation + 1)
                self.generation = snapshot.generation + 1
            }
        } else {
            self.files = nil
        }
        self.state = state
    }

    /// The number of vectors.
    public var count: Int {
        get throws {
            try checkNotDropped()
            return state.ids.count
        }
    }

    public func contains(_ id: String) -> Bool { state.rows[id] != nil }

    /// The stored vector (normalised for `.cosine`) and metadata of `id`.
    public func get(_ id: String) throws -> VectorRecord? {
        try checkNotDropped()
        guard let row = state.rows[id] else { return nil }
        return VectorRecord(id: id, vector: Array(state.vector(at: row).prefix(dimensions)), metadata: state.metadata[row])
    }

    /// Every stored vector (normalised for `.cosine`) with its id and metadata, in row order: for copying a collection.
    public func allRecords() throws -> [VectorRecord] {
        try checkNotDropped()
        return state.ids.indices.map { row in
            VectorRecord(id: state.ids[row], vector: Array(state.vector(at: row).prefix(dimensions)), metadata: state.metadata[row])
        }
    }

    /// Marks the collection dropped (``FileVectorStore`` then deletes its files): later calls fail.
    func markDropped() {
        dropped = true
    }

    private func checkNotDropped() throws {
        guard !dropped else {
            throw AerieError.notFound("The vector collection was dropped. Create it again before using it.")
        }
    }

    /// Changes how many candidates approximate searches consider (recall against speed).
    public func setEfSearch(_ value: Int) {
        efSearch = max(1, value)
    }

    /// Adds or replaces several vectors with one log write.
    public func upsert(_ records: [VectorRecord]) throws {
        try checkNotDropped()
        try VectorRules.validate(records, dimensions: dimensions, metric: metric)
        var operations: [VectorFiles.Operation] = []
        operations.reserveCapacity(records.count)
        for record in records {
            operations.append(.upsert(id: record.id, vector: storedRow(record.vector), metadata: record.metadata))
        }
        try files?.append(operations)
        state.reserve(state.ids.count + records.count)
        for operation in operations {
            applyToStateAndGraph(operation)
        }
        try compactIfNeeded()
    }

    /// Removes the ids that are stored, with one log write; returns how many were.
    @discardableResult
    public func remove(ids: [String]) throws -> Int {
        try checkNotDropped()
        var seen = Set<String>()
        let present = ids.filter { state.rows[$0] != nil && seen.insert($0).inserted }
        guard !present.isEmpty else { return 0 }
        let operations = present.map { VectorFiles.Operation.remove(id: $0) }
        try files?.append(operations)
        for operation in operations {
            applyToStateAndGraph(operation)
        }
        try compactIfNeeded()
        return present.count
    }

    /// The `k` best matches for `query`, best first, among the vectors whose metadata satisfies `filter`.
    ///
    /// Without a filter and unless `exact` is set, an index of at least ``Configuration/Approximate/threshold``
    /// vectors answers from its HNSW graph (approximate); otherwise the answer is exact, on BLAS.
    public func search(_ query: [Float], k: Int, filter: VectorFilter? = nil, exact: Bool) throws -> [VectorMatch] {
        try checkNotDropped()
        try VectorRules.validateK(k)
        let q = try preparedQuery(query)
        let n = state.ids.count
        guard k > 0, n > 0 else { return [] }
        if !exact, filter == nil, let approximate = configuration.approximate, n >= approximate.threshold {
            let found = approximateSearch(q.row, k: k, approximate: approximate)
            // Deleted nodes can crowd out live ones; then answer exactly.
            if found.count >= min(k, n) { return found }
        }
        return exactSearch(q.row, squaredNorms: [q.squaredNorm], k: k, filter: filter)[0]
    }

    /// Exact top-k for several queries at once (one sgemm per block of queries), best first per query.
    public func search(batch queries: [[Float]], k: Int, filter: VectorFilter? = nil) throws -> [[VectorMatch]] {
        try checkNotDropped()
        try VectorRules.validateK(k)
        var flat: [Float] = []
        var norms: [Float] = []
        flat.reserveCapacity(queries.count * rowDimensions)
        for query in queries {
            let q = try preparedQuery(query)
            flat += q.row
            norms.append(q.squaredNorm)
        }
        guard k > 0, !state.ids.isEmpty else { return Array(repeating: [], count: queries.count) }
        return exactSearch(flat, squaredNorms: norms, k: k, filter: filter)
    }

    private func exactSearch(_ queries: [Float], squaredNorms: [Float], k: Int, filter: VectorFilter?) -> [[VectorMatch]] {
        let metadata = state.metadata
        let accept: ((Int) -> Bool)? = filter.map { filter in { row in filter.matches(metadata[row]) } }
        let found = ExactSearch(rows: state.matrix, threads: configuration.searchThreads)
            .search(queries: queries, queryCount: squaredNorms.count, k: k, accept: accept)
        return zip(found, squaredNorms).map { hits, squaredNorm in
            hits.map {
                VectorMatch(id: state.ids[$0.row], score: score($0.score, querySquaredNorm: squaredNorm), metadata: state.metadata[$0.row])
            }
        }
    }

    /// The similarity from the kernels' inner product (for `.euclidean`, of the transformed query and row).
    private func score(_ product: Float, querySquaredNorm: Float) -> Float {
        guard metric == .euclidean else { return product }
        return -max(0, querySquaredNorm - product).squareRoot()
    }

    /// Folds the log into a new snapshot now (also done automatically past the compaction threshold).
    public func compact() throws {
        try writeSnapshot()
    }

    private func writeSnapshot() throws {
        guard let files else { return }
        try state.writeSnapshot(to: files, generation: generation + 1)
        generation += 1
    }

    private func approximateSearch(_ query: [Float], k: Int, approximate: Configuration.Approximate) -> [VectorMatch] {
        let searched: HNSWGraph
        if let graph {
            searched = graph
        } else {
            searched = HNSWGraph(
                rows: state.matrix,
                parameters: .init(m: approximate.m, efConstruction: approximate.efConstruction, efSearch: approximate.efSearch))
            for _ in state.ids.indices { searched.insertNextRow() }
            graph = searched
        }
        let found = query.withUnsafeBufferPointer { q -> [(node: Int, score: Float)] in
            guard let q = q.baseAddress else { return [] }
            return searched.search(q, k: k, ef: efSearch, scratch: &scratch)
        }
        return found.map { hit in
            VectorMatch(id: state.ids[hit.node], score: hit.score, metadata: state.metadata[hit.node])
        }
    }

    /// Applies one operation to the rows and repairs the graph in place: a new row is inserted, a replaced
    /// one relinked, a removed one unlinked (with the last row taking its node number, as in the matrix).
    private func applyToStateAndGraph(_ operation: VectorFiles.Operation) {
        let row: Int?
        switch operation {
        case .upsert(let id, _, _), .remove(let id): row = state.rows[id]
        }
        state.apply(operation)
        guard let graph else { return }
        switch (operation, row) {
        case (.upsert, let row?): graph.relink(row)
        case (.upsert, nil): graph.insertNextRow()
        case (.remove, let row?): graph.remove(row: row)
        case (.remove, nil): break
        }
        // Rebuild (lazily, on the next search) once the repairs add up to half the nodes.
        if graph.churn * 2 > max(graph.nodeCount, 1) { self.graph = nil }
    }

    private func compactIfNeeded() throws {
        guard let files else { return }
        let size = files.logSize()
        if size > configuration.compactionThreshold, size > state.ids.count * (configuration.dimensions * 4 + 32) {
            try compact()
        }
    }

    /// The row stored for a validated vector: unit length for `.cosine`, `[v, ‖v‖²]` for `.euclidean`.
    private func storedRow(_ vector: [Float]) -> [Float] {
        switch metric {
        case .cosine:
            let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return vector.map { $0 / norm }
        case .dot:
            return vector
        case .euclidean:
            return vector + [vector.reduce(0) { $0 + $1 * $1 }]
        }
    }

    /// The row the kernels search with (unit length for `.cosine`, `[2q, −1]` for `.euclidean`) and the query's
    /// squared norm (for turning `.euclidean` scores back into distances).
    private func preparedQuery(_ vector: [Float]) throws -> (row: [Float], squaredNorm: Float) {
        try VectorRules.validateVector(vector, dimensions: dimensions, metric: metric, field: "vector")
        let squaredNorm = vector.reduce(0) { $0 + $1 * $1 }
        switch metric {
        case .cosine:
            let norm = squaredNorm.squareRoot()
            return (vector.map { $0 / norm }, 1)
        case .dot:
            return (vector, squaredNorm)
        case .euclidean:
            return (vector.map { 2 * $0 } + [-1], squaredNorm)
        }
    }
}

/// The index's rows: a row-major `count × dimensions` matrix with each row's id and metadata.
/// Removing a row moves the last row into its place.
struct VectorRows {
    let dimensions: Int
    let matrix: AlignedRows
    var ids: [String] = []
    var metadata: [[String: KeyValue]] = []
    var rows: [String: Int] = [:]

    init(dimensions: Int) {
        self.dimensions = dimensions
        self.matrix = AlignedRows(dimensions: dimensions)
    }

    func vector(at row: Int) -> [Float] {
        matrix.vector(at: row)
    }

    /// Writes every row to a new snapshot straight from the matrix (no copy of the vectors).
    func writeSnapshot(to files: VectorFiles, generation: UInt64) throws {
        try files.writeSnapshot(generation: generation, count: ids.count) { row in
            (id: ids[row], vector: UnsafeBufferPointer(start: matrix.row(row), count: dimensions), metadata: metadata[row])
        }
    }

    func reserve(_ count: Int) {
        matrix.reserve(rows: count)
    }

    mutating func apply(_ operation: VectorFiles.Operation) {
        switch operation {
        case .upsert(let id, let vector, let meta):
            if let row = rows[id] {
                matrix.replace(row: row, with: vector)
                metadata[row] = meta
            } else {
                rows[id] = ids.count
                ids.append(id)
                metadata.append(meta)
                matrix.append(vector)
            }
        case .remove(let id):
            guard let row = rows.removeValue(forKey: id) else { return }
            let last = ids.count - 1
            matrix.removeMovingLast(row)
            if row != last {
                ids[row] = ids[last]
                metadata[row] = metadata[last]
                rows[ids[row]] = row
            }
            ids.removeLast()
            metadata.removeLast()
        }
    }
}
