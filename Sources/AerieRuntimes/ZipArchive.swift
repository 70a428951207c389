import AerieCore
import CZlib
import Foundation

/// The few parts of the zip format a function package needs, on the project's zlib (`CZlib`).
///
/// ZIPFoundation (in the package copy) cannot be used here: its own `CZlib` module clashes with the project's
/// `CZlib` in every target that sees both (`redefinition of module 'CZlib'`). Reading walks the central directory
/// (stored and deflated entries; no ZIP64, no encryption) and checks each entry's CRC-32; writing stores entries
/// uncompressed-or-deflated with their Unix mode, so symbolic links and execute bits survive.
public enum ZipArchive {
    public enum Kind: Sendable, Hashable {
        case file
        case directory
        case symlink
    }

    /// One entry as the central directory describes it.
    public struct Entry: Sendable {
        public var path: String
        public var kind: Kind
        /// Unix permission bits (0 when the archive was not made on Unix).
        public var mode: UInt16
        public var uncompressedSize: UInt64
        var compressedSize: Int
        var method: UInt16
        var crc: UInt32
        var localHeaderOffset: Int
    }

    static func malformed(_ why: String) -> AerieError {
        AerieError(.unprocessable, "The body is not a readable zip archive (\(why)); send the package as `Content-Type: application/zip`.")
    }

    private static func u16(_ data: Data, _ offset: Int) -> UInt16 {
        UInt16(data[data.startIndex + offset]) | UInt16(data[data.startIndex + offset + 1]) << 8
    }

    private static func u32(_ data: Data, _ offset: Int) -> UInt32 {
        UInt32(u16(data, offset)) | UInt32(u16(data, offset + 2)) << 16
    }

    /// The entries of a zip, in central-directory order.
    public static func entries(_ data: Data) throws -> [Entry] {
        guard data.count >= 22 else { throw malformed("too short") }
        var end = -1
        var offset = data.count - 22
        let lowest = max(0, data.count - 22 - 65_535)
        while offset >= lowest {
            if u32(data, offset) == 0x0605_4B50 { end = offset; break }
            offset -= 1
        }
        guard end >= 0 else { throw malformed("no end of central directory") }
        let count = Int(u16(data, end + 10))
        let directorySize = Int(u32(data, end + 12))
        let directoryOffset = Int(u32(data, end + 16))
        guard count != 0xFFFF, directoryOffset != 0xFFFF_FFFF else { throw malformed("ZIP64 archives are not supported") }
        guard directoryOffset + directorySize <= end else { throw malformed("the central directory lies outside the archive") }
        var entries: [Entry] = []
        var position = directoryOffset
        for _ in 0..<count {
            guard position + 46 <= end, u32(data, position) == 0x0201_4B50 else { throw malformed("a damaged central directory") }
            let madeBy = u16(data, position + 4)
            let flags = u16(data, position + 8)
            let method = u16(data, position + 10)
            let crc = u32(data, position + 16)
            let compressed = u32(data, position + 20)
            let uncompressed = u32(data, position + 24)
            let nameLength = Int(u16(data, position + 28))
            let extraLength = Int(u16(data, position + 30))
            let commentLength = Int(u16(data, position + 32))
            let external = u32(data, position + 38)
            let local = u32(data, position + 42)
            guard position + 46 + nameLength <= end else { throw malformed("a damaged central directory") }
            guard flags & 1 == 0 else { throw AerieError(.unprocessable, "The zip is encrypted; send it without a password.") }
            guard compressed != 0xFFFF_FFFF, uncompressed != 0xFFFF_FFFF, local != 0xFFFF_FFFF else { throw malformed("ZIP64 entries are not supported") }
            guard method == 0 || method == 8 else { throw AerieError(.unprocessable, "The zip uses compression method \(method); use deflate or none.") }
            let nameBytes = data.subdata(in: data.startIndex + position + 46..<data.startIndex + position + 46 + nameLength)
            let path = String(decoding: nameBytes, as: UTF8.self)
            let unixMode = madeBy >> 8 == 3 ? UInt16(truncatingIfNeeded: external >> 16) : 0
            let kind: Kind
            switch unixMode & 0o170000 {
            case 0o120000: kind = .symlink
            case 0o040000: kind = .directory
            default: kind = path.hasSuffix("/") ? .directory : .file
            }
            entries.append(Entry(path: path, kind: kind, mode: unixMode & 0o7777, uncompressedSize: UInt64(uncompressed),
                                 compressedSize: Int(compressed), method: method, crc: crc, localHeaderOffset: Int(local)))
            position += 46 + nameLength + extraLength + commentLength
        }
        return entries
    }

    /// The entry's bytes, refusing more than `limit` and checking the CRC-32.
    public static func contents(_ entry: Entry, in data: Data, limit: UInt64) throws -> Data {
        let local = entry.localHeaderOffset
        guard local + 30 <= data.count, u32(data, local) == 0x0403_4B50 else { throw malformed("a damaged local header for \(entry.path)") }
        let start = local + 30 + Int(u16(data, local + 26)) + Int(u16(data, local + 28))
        guard start + entry.compressedSize <= data.count else { throw malformed("\(entry.path) runs past the end") }
        let raw = data.subdata(in: data.startIndex + start..<data.startIndex + start + entry.compressedSize)
        let bytes: Data
        if entry.method == 0 {
            guard UInt64(raw.count) <= limit else { throw tooLarge(limit) }
            bytes = raw
        } else {
            bytes = try inflate(raw, limit: limit, path: entry.path)
        }
        guard crc32(of: bytes) == entry.crc else { throw malformed("\(entry.path) fails its CRC-32 check") }
        return bytes
    }

    static func tooLarge(_ limit: UInt64) -> AerieError {
        AerieError(.tooLarge, "The package unpacks to more than \(limit) bytes.")
    }

    /// Raw deflate, stopped as soon as the output passes `limit` (a zip bomb cannot fill the disk or memory).
    static func inflate(_ input: Data, limit: UInt64, path: String) throws -> Data {
        var stream = z_stream()
        guard inflateInit2_(&stream, -15, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw AerieError(.internal, "zlib could not be initialised.")
        }
        defer { inflateEnd(&stream) }
        var output = Data()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var input = [UInt8](input)
        var status: Int32 = Z_OK
        try input.withUnsafeMutableBufferPointer { source in
            stream.next_in = source.baseAddress
            stream.avail_in = uInt(source.count)
            while status != Z_STREAM_END {
                let produced = buffer.withUnsafeMutableBufferPointer { target -> Int in
                    stream.next_out = target.baseAddress
                    stream.avail_out = uInt(target.count)
                    status = zlibInflate(&stream, Z_NO_FLUSH)
                    return target.count - Int(stream.avail_out)
                }
                guard status == Z_OK || status == Z_STREAM_END else { throw malformed("\(path) is not valid deflate data") }
                output.append(contentsOf: buffer[0..<produced])
                guard UInt64(output.count) <= limit else { throw tooLarge(limit) }
                if produced == 0 && status == Z_OK && stream.avail_in == 0 { throw malformed("\(path) ends early") }
            }
        }
        return output
    }

    static func crc32(of data: Data) -> UInt32 {
        data.withUnsafeBytes { bytes in
            UInt32(CZlib.crc32(0, bytes.bindMemory(to: UInt8.self).baseAddress, uInt(bytes.count)))
        }
    }

    // MARK: Writing

    /// An entry to write; `path` is written as given (tests use it to build malicious archives).
    public struct NewEntry: Sendable {
        public var path: String
        public var kind: Kind
        public var mode: UInt16
        public var data: Data

        public init(path: String, kind: Kind = .file, mode: UInt16 = 0o644, data: Data = Data()) {
            self.path = path
            self.kind = kind
            self.mode = mode
            self.data = data
        }
    }

    /// A zip of `entries`, stored (uncompressed), with Unix modes.
    public static func write(_ entries: [NewEntry]) -> Data {
        var archive = Data()
        var directory = Data()
        func append16(_ value: UInt16, to data: inout Data) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
        func append32(_ value: UInt32, to data: inout Data) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
        for entry in entries {
            let name = Data(entry.path.utf8)
            let crc = crc32(of: entry.data)
            let offset = UInt32(archive.count)
            let type: UInt16 = switch entry.kind {
            case .file: 0o100000
            case .directory: 0o040000
            case .symlink: 0o120000
            }
            // Local header.
            append32(0x0403_4B50, to: &archive)
            append16(20, to: &archive); append16(0x0800, to: &archive); append16(0, to: &archive)
            append16(0, to: &archive); append16(0x21, to: &archive)
            append32(crc, to: &archive); append32(UInt32(entry.data.count), to: &archive); append32(UInt32(entry.data.count), to: &archive)
            append16(UInt16(name.count), to: &archive); append16(0, to: &archive)
            archive.append(name)
            archive.append(entry.data)
            // Central directory header: made by Unix (3), version 2.0.
            append32(0x0201_4B50, to: &directory)
            append16(0x0314, to: &directory); append16(20, to: &directory); append16(0x0800, to: &directory); append16(0, to: &directory)
            append16(0, to: &directory); append16(0x21, to: &directory)
            append32(crc, to: &directory); append32(UInt32(entry.data.count), to: &directory); append32(UInt32(entry.data.count), to: &directory)
            append16(UInt16(name.count), to: &directory); append16(0, to: &directory); append16(0, to: &directory)
            append16(0, to: &directory); append16(0, to: &directory)
            append32(UInt32(type | (entry.mode & 0o7777)) << 16, to: &directory)
            append32(offset, to: &directory)
            directory.append(name)
        }
        let directoryOffset = UInt32(archive.count)
        archive.append(directory)
        append32(0x0605_4B50, to: &archive)
        append16(0, to: &archive); append16(0, to: &archive)
        append16(UInt16(entries.count), to: &archive); append16(UInt16(entries.count), to: &archive)
        append32(UInt32(directory.count), to: &archive); append32(directoryOffset, to: &archive)
        append16(0, to: &archive)
        return archive
    }

    /// The entries of a folder (files, folders, symbolic links as links), for `aerie functions deploy DIR`.
    public static func entries(ofDirectory root: URL) throws -> [NewEntry] {
        let fileManager = FileManager.default
        var result: [NewEntry] = []
        guard let enumerator = fileManager.enumerator(atPath: root.path) else {
            throw AerieError.notFound("Cannot read the folder \(root.path).")
        }
        for case let relative as String in enumerator {
            let url = root.appendingPathComponent(relative)
            let attributes = try fileManager.attributesOfItem(atPath: url.path)
            let mode = UInt16(truncatingIfNeeded: (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0o644)
            switch attributes[.type] as? FileAttributeType {
            case .typeSymbolicLink?:
                result.append(NewEntry(path: relative, kind: .symlink, mode: 0o777, data: Data(try fileManager.destinationOfSymbolicLink(atPath: url.path).utf8)))
            case .typeDirectory?:
                result.append(NewEntry(path: relative + "/", kind: .directory, mode: mode))
            default:
                result.append(NewEntry(path: relative, kind: .file, mode: mode, data: try Data(contentsOf: url)))
            }
        }
        return result
    }
}

/// zlib's `inflate` under a name that does not clash with ``ZipArchive/inflate(_:limit:path:)``.
private func zlibInflate(_ stream: inout z_stream, _ flush: Int32) -> Int32 { CZlib.inflate(&stream, flush) }
