import AerieCore
import Foundation

/// CLIP's byte-level BPE tokenizer (`tokenizer/vocab.json` + `merges.txt`), as open_clip's
/// `SimpleTokenizer` and Hugging Face's `CLIPTokenizer` apply it for Stable Diffusion:
/// HTML entities unescaped, whitespace collapsed, lower-cased, split by CLIP's pattern, each piece's UTF-8
/// bytes BPE-merged with `</w>` marking the word end; then `<|startoftext|>` … `<|endoftext|>`, truncated
/// and padded to ``maxLength`` with the configured pad token. (ftfy's mojibake repair is not applied.)
public struct CLIPTokenizer: Sendable {
    /// The sequence length the text encoder takes (77 for CLIP).
    public let maxLength: Int
    public let startID: Int32
    public let endID: Int32
    public let padID: Int32
    private let vocabulary: [String: Int32]
    private let ranks: [Pair: Int]
    private let byteSymbols: [String]

    private struct Pair: Hashable {
        var first: String
        var second: String
    }

    /// Loads `vocab.json` and `merges.txt` from `directory`; the pad token comes from
    /// `tokenizer_config.json` or `special_tokens_map.json` there (default `<|endoftext|>`).
    public init(directory: URL, maxLength: Int = 77) throws {
        let vocabFile = directory.appendingPathComponent("vocab.json")
        let mergesFile = directory.appendingPathComponent("merges.txt")
        guard let vocabData = try? Data(contentsOf: vocabFile) else {
            throw AerieError.notFound("There is no CLIP vocabulary at \(vocabFile.path); a diffusers pipeline has tokenizer/vocab.json.")
        }
        guard let merges = try? String(contentsOf: mergesFile, encoding: .utf8) else {
            throw AerieError.notFound("There are no CLIP merges at \(mergesFile.path); a diffusers pipeline has tokenizer/merges.txt.")
        }
        guard let vocabulary = try? JSONDecoder().decode([String: Int32].self, from: vocabData) else {
            throw AerieError.invalid("\(vocabFile.path) is not a JSON object of token → id.")
        }
        var padToken = "<|endoftext|>"
        for name in ["tokenizer_config.json", "special_tokens_map.json"] {
            if let data = try? Data(contentsOf: directory.appendingPathComponent(name)),
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let pad = object["pad_token"]
            {
                if let text = pad as? String {
                    padToken = text
                    break
                } else if let dictionary = pad as? [String: Any], let text = dictionary["content"] as? String {
                    padToken = text
                    break
                }
            }
        }
        try self.init(vocabulary: vocabulary, merges: merges, padToken: padToken, maxLength: maxLength)
    }

    /// A tokenizer from a vocabulary and the text of `merges.txt` (a `#version` first line is skipped).
    public init(vocabulary: [String: Int32], merges: String, padToken: String = "<|endoftext|>", maxLength: Int = 77) throws {
        guard let start = vocabulary["<|startoftext|>"], let end = vocabulary["<|endoftext|>"] else {
            throw AerieError.invalid("The CLIP vocabulary lacks <|startoftext|> or <|endoftext|>; it is not a CLIP vocab.json.")
        }
        guard let pad = vocabulary[padToken] else {
            throw AerieError.invalid("The pad token \(padToken) is not in the CLIP vocabulary; fix pad_token in tokenizer_config.json.")
        }
        guard maxLength >= 2 else { throw AerieError.invalid("A CLIP sequence needs room for its start and end tokens.") }
        var ranks: [Pair: Int] = [:]
        var rank = 0
        for line in merges.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("#version") { continue }
            let parts = line.split(separator: " ")
            guard parts.count == 2 else { continue }
            let pair = Pair(first: String(parts[0]), second: String(parts[1]))
            if ranks[pair] == nil { ranks[pair] = rank }
            rank += 1
        }
        self.vocabulary = vocabulary
        self.ranks = ranks
        self.startID = start
        self.endID = end
        self.padID = pad
        self.maxLength = maxLength
        self.byteSymbols = Self.bytesToUnicode()
    }

    /// GPT-2's reversible byte → printable character table.
    static func bytesToUnicode() -> [String] {
        var printable = Array(33...126) + Array(161...172) + Array(174...255)
        var codes = printable
        var extra = 0
        for byte in 0..<256 where !printable.contains(byte) {
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
        }
        var table = [String](repeating: "", count: 256)
        for (byte, code) in zip(printable, codes) {
            table[byte] = String(Character(Unicode.Scalar(UInt32(code)) ?? "?"))
        }
        return table
    }

    /// The ids of `text` padded to ``maxLength``: start, up to `maxLength - 2` BPE ids, end, then pad.
    public func encode(_ text: String) -> [Int32] {
        var ids = [startID]
        ids.append(contentsOf: bpeIDs(text).prefix(maxLength - 2))
        ids.append(endID)
        while ids.count < maxLength { ids.append(padID) }
        return ids
    }

    /// The BPE ids of `text`, without start, end or padding.
    public func bpeIDs(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        for piece in Self.split(Self.clean(text)) {
            if piece == "<|startoftext|>" || piece == "<|endoftext|>" {
                if let id = vocabulary[piece] { ids.append(id) }
                continue
            }
            let symbols = piece.utf8.map { byteSymbols[Int($0)] }
            for token in bpe(symbols) {
                if let id = vocabulary[token] { ids.append(id) }
            }
        }
        return ids
    }

    private func bpe(_ symbols: [String]) -> [String] {
        guard var last = symbols.last else { return [] }
        last += "</w>"
        var word = Array(symbols.dropLast()) + [last]
        while word.count > 1 {
            var best: (rank: Int, index: Int)?
            for index in 0..<(word.count - 1) {
                if let rank = ranks[Pair(first: word[index], second: word[index + 1])], rank < (best?.rank ?? Int.max) {
                    best = (rank, index)
                }
            }
            guard let best else { break }
            let first = word[best.index]
            let second = word[best.index + 1]
            var merged: [String] = []
            merged.reserveCapacity(word.count)
            var i = 0
            while i < word.count {
                if i < word.count - 1, word[i] == first, word[i + 1] == second {
                    merged.append(first + second)
                    i += 2
                } else {
                    merged.append(word[i])
                    i += 1
                }
            }
            word = merged
        }
        return word
    }

    /// HTML-unescaped twice, whitespace runs collapsed to one space, trimmed, lower-cased.
    static func clean(_ text: String) -> String {
        let unescaped = unescapeHTML(unescapeHTML(text)).trimmingCharacters(in: .whitespacesAndNewlines)
        var collapsed = ""
        var inSpace = false
        for scalar in unescaped.unicodeScalars {
            if isWhitespace(scalar) {
                inSpace = true
            } else {
                if inSpace && !collapsed.isEmpty { collapsed.append(" ") }
                inSpace = false
                collapsed.unicodeScalars.append(scalar)
            }
        }
        return collapsed.lowercased()
    }

    /// Python's `str.isspace` / regex `\s` for Unicode text.
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: true
        default: false
        }
    }

    static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: true
        default: false
        }
    }

    static func isNumber(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: true
        default: false
        }
    }

    /// CLIP's pattern: `<|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`.
    static func split(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        var pieces: [String] = []
        var i = 0
        func matches(_ literal: String, at index: Int) -> Bool {
            let literalScalars = Array(literal.unicodeScalars)
            guard index + literalScalars.count <= scalars.count else { return false }
            for (offset, scalar) in literalScalars.enumerated() where scalars[index + offset] != scalar { return false }
            return true
        }
        func piece(_ range: Range<Int>) -> String {
            var string = ""
            string.unicodeScalars.append(contentsOf: scalars[range])
            return string
        }
        scan: while i < scalars.count {
            for literal in ["<|startoftext|>", "<|endoftext|>", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d"] where matches(literal, at: i) {
                let length = literal.unicodeScalars.count
                pieces.append(piece(i..<(i + length)))
                i += length
                continue scan
            }
            let scalar = scalars[i]
            if isLetter(scalar) {
                var j = i + 1
                while j < scalars.count, isLetter(scalars[j]) { j += 1 }
                pieces.append(piece(i..<j))
                i = j
            } else if isNumber(scalar) {
                pieces.append(piece(i..<(i + 1)))
                i += 1
            } else if isWhitespace(scalar) {
                i += 1
            } else {
                var j = i + 1
                while j < scalars.count, !isWhitespace(scalars[j]), !isLetter(scalars[j]), !isNumber(scalars[j]) { j += 1 }
                pieces.append(piece(i..<j))
                i = j
            }
        }
        return pieces
    }

    /// The HTML character references Python's `html.unescape` resolves most often: `&amp; &lt; &gt; &quot;
    /// &apos; &nbsp;` and numeric `&#NN;` / `&#xHH;` (other named references are left as written).
    static func unescapeHTML(_ text: String) -> String {
        guard text.contains("&") else { return text }
        let named: [String: String] = ["amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": "\u{A0}"]
        var output = ""
        var rest = Substring(text)
        while let ampersand = rest.firstIndex(of: "&") {
            output += rest[..<ampersand]
            let after = rest[rest.index(after: ampersand)...]
            if let semicolon = after.prefix(12).firstIndex(of: ";") {
                let name = String(after[..<semicolon])
                var replacement: String?
                if let value = named[name] {
                    replacement = value
                } else if name.hasPrefix("#x") || name.hasPrefix("#X"), let code = UInt32(name.dropFirst(2), radix: 16),
                    let scalar = Unicode.Scalar(code)
                {
                    replacement = String(Character(scalar))
                } else if name.hasPrefix("#"), let code = UInt32(name.dropFirst()), let scalar = Unicode.Scalar(code) {
                    replacement = String(Character(scalar))
                }
                if let replacement {
                    output += replacement
                    rest = after[after.index(after: semicolon)...]
                    continue
                }
            }
            output += "&"
            rest = after
        }
        output += rest
        return output
    }
}
