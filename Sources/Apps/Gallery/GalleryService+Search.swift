import AerieCore
import AerieImaging
import Foundation

extension GalleryService {
    /// The filters of a listing.
    struct ListFilter: Sendable, Hashable {
        var tag: String?
        var since: Date?
        var until: Date?
        var query: String?
    }

    /// A photo found by a query, with its similarity.
    struct Found: Sendable {
        var record: PhotoRecord
        var score: Float?
    }

    /// Where the next page starts: after a photo id (newest first), or at a position of a query's ranking.
    struct Cursor: Codable, Hashable {
        var after: String?
        var q: String?
        var offset: Int?

        var encoded: String { Base64URL.encode(try! JSONEncoder().encode(self)) }

        static func decode(_ text: String) throws -> Cursor {
            guard let data = Base64URL.decode(text), let cursor = try? JSONDecoder().decode(Cursor.self, from: data) else {
                throw AerieError.invalid("The cursor is not one this API gave out; pass next_cursor from the previous page as it is.", field: "cursor")
            }
            return cursor
        }
    }

    /// A page of the caller's photos: newest first, or best first with a query (`q`), with the tag and date filters.
    func list(owner: String, filter: ListFilter, limit: Int, cursor: String?) async throws -> (items: [Found], next: String?) {
        let position = try cursor.map(Cursor.decode)
        if let query = filter.query?.trimmingCharacters(in: .whitespacesAndNewlines), !query.isEmpty {
            if let position, position.q != query {
                throw AerieError.invalid("This cursor belongs to another search (q=\(position.q ?? "none")); start again without it.", field: "cursor")
            }
            return try await search(owner: owner, query: query, filter: filter, limit: limit, offset: position?.offset ?? 0)
        }
        if position?.q != nil {
            throw AerieError.invalid("This cursor belongs to a search; pass the same q, or start again without it.", field: "cursor")
        }
        let lower = TimeOrderedID.lowerBound(filter.since ?? Date(timeIntervalSince1970: 0))
        var upper = TimeOrderedID.upperBound(filter.until ?? Date(timeIntervalSince1970: 1e13 / 1000))
        if let after = position?.after { upper = min(upper, after) }
        let tag = filter.tag?.lowercased()
        var found: [PhotoRecord] = []
        var tableCursor: String?
        // Read pages of the partition until the page is full (a tag filter may skip many photos).
        repeat {
            let page = try await primitives.tables.query(table: GalleryKeys.photos.name, TableQuery(
                partition: .string(owner), sort: .between(.string(lower), .string(upper)), descending: true, limit: 100, cursor: tableCursor))
            for item in page.items {
                guard let record = PhotoRecord(item: item.item), record.id != position?.after else { continue }
                if let tag, !record.tags.contains(where: { $0.label.lowercased() == tag }) { continue }
                found.append(record)
                if found.count > limit { break }
            }
            tableCursor = page.nextCursor
        } while found.count <= limit && tableCursor != nil
        let items = Array(found.prefix(limit))
        let next = found.count > limit ? Cursor(after: items.last?.id).encoded : nil
        return (items.map { Found(record: $0) }, next)
    }

    /// The caller's photos ranked by how close their labels and caption are in meaning to `query` (MiniLM), best first.
    private func search(owner: String, query: String, filter: ListFilter, limit: Int, offset: Int) async throws -> (items: [Found], next: String?) {
        let vector = try embedder.embed([query])[0]
        var conditions: [VectorFilter] = [.equals("owner", .string(owner))]
        if filter.since != nil || filter.until != nil {
            conditions.append(.between("created_at", lower: filter.since.map { .number($0.timeIntervalSince1970) },
                                       upper: filter.until.map { .number($0.timeIntervalSince1970) }))
        }
        if let tag = filter.tag?.lowercased() {
            conditions.append(.any((0..<3).map { .equals("tag\($0)", .string(tag)) }))
        }
        let wanted = min(offset + limit + 1, 10_000)
        let matches = try await vectors.search(vector, k: wanted, filter: .all(conditions))
            .filter { $0.score >= configuration.searchFloor }
        var items: [Found] = []
        for match in matches.dropFirst(offset).prefix(limit) {
            if let record = try await photo(owner: owner, id: match.id) { items.append(Found(record: record, score: match.score)) }
        }
        let next = matches.count > offset + limit ? Cursor(q: query, offset: offset + limit).encoded : nil
        return (items, next)
    }

    /// Groups of the caller's photos that are the same picture: exact copies (same bytes) and near-duplicates (perceptual
    /// hashes within ``PerceptualHash/nearDuplicateDistance`` bits: a re-encoded, resized or lightly edited copy). Each
    /// group is oldest first; groups are ordered by their oldest photo.
    func duplicateGroups(owner: String) async throws -> [[String]] {
        var records: [PhotoRecord] = []
        var cursor: String?
        repeat {
            let page = try await primitives.tables.query(table: GalleryKeys.photos.name,
                                                         TableQuery(partition: .string(owner), limit: 500, cursor: cursor))
            records += page.items.compactMap { PhotoRecord(item: $0.item) }
            cursor = page.nextCursor
        } while cursor != nil
        // Union-find over every pair (a personal gallery: thousands of photos at most, 64-bit comparisons).
        var parent = Array(records.indices)
        func root(_ index: Int) -> Int {
            var index = index
            while parent[index] != index {
                parent[index] = parent[parent[index]]
                index = parent[index]
            }
            return index
        }
        for i in records.indices {
            for j in records.indices where j > i {
                if records[i].sha256 == records[j].sha256
                    || records[i].perceptualHash.distance(to: records[j].perceptualHash) <= PerceptualHash.nearDuplicateDistance {
                    let (a, b) = (root(i), root(j))
                    if a != b { parent[max(a, b)] = min(a, b) }
                }
            }
        }
        var groups: [Int: [String]] = [:]
        for index in records.indices { groups[root(index), default: []].append(records[index].id) }
        return groups.values.filter { $0.count > 1 }.map { $0.sorted() }.sorted { $0[0] < $1[0] }
    }
}
