import AerieCore

/// A value read from a Python pickle by ``PickleReader``. Nothing is executed: a global is kept as its
/// module and name, and a call (`REDUCE`) as the callable and its arguments, for the caller to interpret.
public indirect enum PickleValue: Sendable, Equatable {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer too long for `Int` (`LONG1`), as its little-endian two's-complement bytes (torch's magic number).
    case longInteger([UInt8])
    case string(String)
    case tuple([PickleValue])
    case list([PickleValue])
    /// A dict (or an `OrderedDict`), its entries in insertion order.
    case dict([DictEntry])
    /// A class or function named by `GLOBAL`.
    case global(module: String, name: String)
    /// `callable(*arguments)`, not performed.
    case call(PickleValue, arguments: [PickleValue])
    /// An object stored outside the pickle (`BINPERSID`): torch's storages.
    case persistent(PickleValue)

    public struct DictEntry: Sendable, Equatable {
        public var key: PickleValue
        public var value: PickleValue
    }

    /// The entries of a dict, or nil for another value.
    public var dictEntries: [DictEntry]? {
        if case .dict(let entries) = self { return entries }
        return nil
    }

    /// The items of a tuple or a list, or nil for another value.
    public var items: [PickleValue]? {
        switch self {
        case .tuple(let items), .list(let items): items
        default: nil
        }
    }

    public var int: Int? {
        if case .int(let value) = self { return value }
        return nil
    }

    public var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }
}

/// A reader of Python's pickle format for just the opcodes that torch's legacy (pre-zip) checkpoints use
/// (protocol 2: ``TorchLegacyFile``). No Swift library reads pickles, and a general unpickler would run
/// arbitrary code; this one builds ``PickleValue``s and refuses any other opcode with an error that names it.
///
/// Containers are values: the memo (`BINPUT`/`BINGET`) keeps a copy of what was on the stack when it was
/// stored. Python shares the object instead, which only differs when a container is fetched from the memo
/// after being filled by a later `SETITEMS`/`APPENDS`; torch's writer never does that.
public struct PickleReader {
    public let bytes: [UInt8]
    /// Where the next pickle starts.
    public private(set) var offset: Int

    public init(bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    private enum Entry {
        case value(PickleValue)
        case mark
    }

    /// Reads one pickle, up to and including its `STOP`, and returns its value.
    public mutating func read() throws -> PickleValue {
        var stack: [Entry] = []
        var memo: [Int: PickleValue] = [:]

        func pop() throws -> PickleValue {
            guard case .value(let value)? = stack.popLast() else { throw Self.corrupt("a value was expected on the stack", at: offset) }
            return value
        }
        func popToMark() throws -> [PickleValue] {
            var values: [PickleValue] = []
            while let entry = stack.popLast() {
                switch entry {
                case .mark: return values.reversed()
                case .value(let value): values.append(value)
                }
            }
            throw Self.corrupt("no MARK before a TUPLE, SETITEMS or APPENDS", at: offset)
        }
        func top() throws -> PickleValue {
            guard case .value(let value)? = stack.last else { throw Self.corrupt("a value was expected on the stack", at: offset) }
            return value
        }
        func replaceTop(_ value: PickleValue) { stack[stack.count - 1] = .value(value) }

        while true {
            let start = offset
            let opcode = try byte()
            switch opcode {
            case 0x80:  // PROTO
                let version = try byte()
                guard version <= 2 else { throw Self.corrupt("pickle protocol \(version) (only 2 is read)", at: start) }
            case 0x2E:  // STOP
                return try pop()
            case 0x28:  // MARK
                stack.append(.mark)
            case 0x4E:  // NONE
                stack.append(.value(.none))
            case 0x88:  // NEWTRUE
                stack.append(.value(.bool(true)))
            case 0x89:  // NEWFALSE
                stack.append(.value(.bool(false)))
            case 0x4B:  // BININT1
                stack.append(.value(.int(Int(try byte()))))
            case 0x4D:  // BININT2
                stack.append(.value(.int(Int(try littleEndian(2)))))
            case 0x4A:  // BININT (signed 32-bit)
                stack.append(.value(.int(Int(Int32(truncatingIfNeeded: try littleEndian(4))))))
            case 0x8A:  // LONG1
                let count = Int(try byte())
                let digits = Array(try take(count))
                stack.append(.value(Self.integer(littleEndian: digits)))
            case 0x58:  // BINUNICODE
                let count = Int(try littleEndian(4))
                stack.append(.value(.string(String(decoding: try take(count), as: UTF8.self))))
            case 0x63:  // GLOBAL "module\nname\n"
                let module = try line()
                let name = try line()
                stack.append(.value(.global(module: module, name: name)))
            case 0x29:  // EMPTY_TUPLE
                stack.append(.value(.tuple([])))
            case 0x85, 0x86:  // TUPLE1, TUPLE2
                let count = opcode == 0x85 ? 1 : 2
                var items: [PickleValue] = []
                for _ in 0..<count { items.insert(try pop(), at: 0) }
                stack.append(.value(.tuple(items)))
            case 0x74:  // TUPLE
                stack.append(.value(.tuple(try popToMark())))
            case 0x5D:  // EMPTY_LIST
                stack.append(.value(.list([])))
            case 0x65:  // APPENDS
                let items = try popToMark()
                guard case .list(let list) = try top() else { throw Self.corrupt("APPENDS to a non-list", at: start) }
                replaceTop(.list(list + items))
            case 0x7D:  // EMPTY_DICT
                stack.append(.value(.dict([])))
            case 0x73:  // SETITEM
                let value = try pop()
                let key = try pop()
                guard case .dict(let entries) = try top() else { throw Self.corrupt("SETITEM on a non-dict", at: start) }
                replaceTop(.dict(entries + [PickleValue.DictEntry(key: key, value: value)]))
            case 0x75:  // SETITEMS
                let flat = try popToMark()
                guard flat.count % 2 == 0, case .dict(let entries) = try top() else { throw Self.corrupt("SETITEMS on a non-dict", at: start) }
                let added = stride(from: 0, to: flat.count, by: 2).map { PickleValue.DictEntry(key: flat[$0], value: flat[$0 + 1]) }
                replaceTop(.dict(entries + added))
            case 0x52:  // REDUCE
                let arguments = try pop()
                let callable = try pop()
                guard let items = arguments.items else { throw Self.corrupt("REDUCE with non-tuple arguments", at: start) }
                if callable == .global(module: "collections", name: "OrderedDict"), items.isEmpty {
                    // An empty OrderedDict that SETITEMS fills next (torch's state dicts).
                    stack.append(.value(.dict([])))
                } else {
                    stack.append(.value(.call(callable, arguments: items)))
                }
            case 0x62:  // BUILD: sets an object's state; torch only sets the state dict's `_metadata`, dropped here.
                _ = try pop()
                _ = try top()
            case 0x51:  // BINPERSID
                stack.append(.value(.persistent(try pop())))
            case 0x71:  // BINPUT
                memo[Int(try byte())] = try top()
            case 0x72:  // LONG_BINPUT
                memo[Int(try littleEndian(4))] = try top()
            case 0x68, 0x6A:  // BINGET, LONG_BINGET
                let index = opcode == 0x68 ? Int(try byte()) : Int(try littleEndian(4))
                guard let value = memo[index] else { throw Self.corrupt("memo entry \(index) is missing", at: start) }
                stack.append(.value(value))
            default:
                throw AerieError.invalid(
                    "Unsupported pickle opcode 0x\(String(opcode, radix: 16)) at byte \(start); only the opcodes of torch's legacy checkpoints are read.")
            }
        }
    }

    private static func corrupt(_ what: String, at offset: Int) -> AerieError {
        AerieError.invalid("Corrupt pickle at byte \(offset): \(what).")
    }

    /// A `LONG1` value: an `Int` when it fits, else its bytes.
    static func integer(littleEndian digits: [UInt8]) -> PickleValue {
        guard digits.count <= 8 else { return .longInteger(digits) }
        var value: UInt64 = 0
        for (index, digit) in digits.enumerated() { value |= UInt64(digit) << (8 * UInt64(index)) }
        if let last = digits.last, last & 0x80 != 0, digits.count < 8 {
            value |= ~UInt64(0) << (8 * UInt64(digits.count))  // sign-extend
        }
        return .int(Int(Int64(bitPattern: value)))
    }

    private mutating func byte() throws -> UInt8 {
        guard offset < bytes.count else { throw Self.corrupt("the data ends inside a pickle", at: offset) }
        defer { offset += 1 }
        return bytes[offset]
    }

    private mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.count - offset else { throw Self.corrupt("the data ends inside a pickle", at: offset) }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    private mutating func littleEndian(_ count: Int) throws -> UInt32 {
        try take(count).reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// A newline-terminated ASCII line (`GLOBAL`'s operands).
    private mutating func line() throws -> String {
        guard let end = bytes[offset...].firstIndex(of: 0x0A) else { throw Self.corrupt("GLOBAL without a newline", at: offset) }
        defer { offset = end + 1 }
        return String(decoding: bytes[offset..<end], as: UTF8.self)
    }
}
