/// How hard the embedded store works to keep acknowledged writes.
public enum Durability: String, Sendable, Hashable, Codable, CaseIterable {
    /// Nothing acknowledged is lost when the process is killed; the last transactions may be lost on power loss
    /// or an operating-system crash (SQLite WAL with `synchronous=NORMAL`). The default.
    case normal
    /// Also safe against power loss: every commit is synced to disk (`synchronous=FULL`), and object files'
    /// directories are synced after each rename.
    case strict
}
