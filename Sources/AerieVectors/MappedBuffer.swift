import CAerieKernels
import Foundation

/// A growable buffer of plain values in its own anonymous memory mapping: page-aligned (so rows start on
/// cache lines), and grown on Linux by moving pages (`mremap`) rather than copying them, so a large index
/// never holds an old and a new copy of its vectors at once. Pages never written take no memory.
///
/// A class owned by one ``VectorIndex`` (inside its actor), never shared; it is not `Sendable`.
final class MappedBuffer<Element: BitwiseCopyable> {
    private(set) var base: UnsafeMutablePointer<Element>
    /// Elements in use.
    private(set) var count = 0
    /// Elements the mapping holds.
    private(set) var capacity: Int

    private static var pageBytes: Int { Int(sysconf(Int32(_SC_PAGESIZE))) }

    private static func bytes(for elements: Int) -> Int {
        let raw = max(elements, 1) * MemoryLayout<Element>.stride
        let page = pageBytes
        return (raw + page - 1) / page * page
    }

    init(capacity: Int = 0) {
        let bytes = Self.bytes(for: capacity)
        guard let raw = aerie_map_memory(bytes) else {
            fatalError("Out of memory mapping \(bytes) bytes for vectors")
        }
        base = raw.bindMemory(to: Element.self, capacity: bytes / MemoryLayout<Element>.stride)
        self.capacity = bytes / MemoryLayout<Element>.stride
    }

    deinit {
        aerie_unmap_memory(base, Self.bytes(for: capacity))
    }

    /// Makes room for at least `elements`, growing by at least half so repeated small reservations stay linear.
    func reserve(_ elements: Int) {
        guard elements > capacity else { return }
        let wanted = max(elements, capacity + capacity / 2)
        let oldBytes = Self.bytes(for: capacity)
        let newBytes = Self.bytes(for: wanted)
        guard let raw = aerie_remap_memory(base, oldBytes, newBytes) else {
            fatalError("Out of memory growing the vector buffer to \(newBytes) bytes")
        }
        base = raw.bindMemory(to: Element.self, capacity: newBytes / MemoryLayout<Element>.stride)
        capacity = newBytes / MemoryLayout<Element>.stride
    }

    /// Appends `n` elements set to `value`; returns the index of the first.
    @discardableResult
    func append(repeating value: Element, count n: Int) -> Int {
        let start = count
        reserve(count + n)
        (base + start).initialize(repeating: value, count: n)
        count += n
        return start
    }

    /// Drops the last `n` elements.
    func removeLast(_ n: Int) {
        count -= min(n, count)
    }

    subscript(index: Int) -> Element {
        get { base[index] }
        set { base[index] = newValue }
    }
}
