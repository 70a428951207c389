import AerieCore
import Foundation

/// The BERT WordPiece tokenizer, matching the Hugging Face `tokenizers` package's `BertNormalizer`,
/// `BertPreTokenizer`, `WordPiece` model and `[CLS] … [SEP]` template id for id.
///
/// Text is split on the special tokens typed literally (`[CLS]`, `[MASK]`…), then each part is cleaned
/// (control characters dropped, whitespace made a space), CJK ideographs are isolated, accents stripped
/// (NFD, then non-spacing marks dropped) and letters lower-cased; words are split on whitespace and
/// punctuation and each is cut greedily into the longest vocabulary pieces (`##` marks a continuation).
/// A word longer than ``Configuration/maxInputCharsPerWord`` or with no piecewise match is `[UNK]`.
public struct WordPieceTokenizer: Sendable {
    public struct Configuration: Sendable {
        /// Lower-case letters (the `uncased` models).
        public var lowercase: Bool = true
        /// Strip accents; `nil` follows ``lowercase`` as in `tokenizers`.
        public var stripAccents: Bool? = nil
        /// Put spaces around CJK ideographs so each is a word.
        public var handleChineseChars: Bool = true
        /// Longer words become `[UNK]`.
        public var maxInputCharsPerWord: Int = 100
        /// The most ids in an encoding, `[CLS]` and `[SEP]` included; longer inputs are truncated.
        public var maxLength: Int = 256

        public init() {}
    }

    /// Token ids of a batch padded to its longest row, with attention masks.
    public struct Batch: Sendable, Equatable {
        /// Row-major `count × length` ids; padding is `[PAD]`.
        public var ids: [Int32]
        /// Row-major `count × length`: 1 for a real token, 0 for padding.
        public var attentionMask: [Int32]
        /// The number of real tokens in each row.
        public var lengths: [Int]
        /// The padded row length.
        public var length: Int
        public var count: Int { lengths.count }
    }

    public let configuration: Configuration
    public let padID: Int32
    public let unknownID: Int32
    public let clsID: Int32
    public let sepID: Int32
    private let vocabulary: [[UInt8]: Int32]
    /// The vocabulary's tokens by id (``piece(_:)``).
    private let pieces: [String]
    /// Special tokens matched in raw text, longest first.
    private let specialTokens: [(scalars: [Unicode.Scalar], id: Int32)]

    /// Creates a tokenizer from the vocabulary's tokens, where a token's id is its position.
    public init(vocabulary tokens: [String], configuration: Configuration = Configuration()) throws {
        var vocabulary: [[UInt8]: Int32] = [:]
        vocabulary.reserveCapacity(tokens.count)
        for (index, token) in tokens.enumerated() where vocabulary[Array(token.utf8)] == nil {
            vocabulary[Array(token.utf8)] = Int32(index)
        }
        func id(_ token: String) throws -> Int32 {
            guard let id = vocabulary[Array(token.utf8)] else {
                throw AerieError.invalid("The vocabulary has no \(token) token; reinstall the model with `aerie models install`.")
            }
            return id
        }
        self.configuration = configuration
        self.vocabulary = vocabulary
        self.pieces = tokens
        self.padID = try id("[PAD]")
        self.unknownID = try id("[UNK]")
        self.clsID = try id("[CLS]")
        self.sepID = try id("[SEP]")
        var specials: [(scalars: [Unicode.Scalar], id: Int32)] = []
        for token in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] {
            if let id = vocabulary[Array(token.utf8)] { specials.append((Array(token.unicodeScalars), id)) }
        }
        self.specialTokens = specials.sorted { $0.scalars.count > $1.scalars.count }
    }

    /// The vocabulary token of an id (`"##boat"` for a continuation piece), or `nil` outside the vocabulary.
    public func piece(_ id: Int32) -> String? {
        pieces.indices.contains(Int(id)) ? pieces[Int(id)] : nil
    }

    /// The tokens of an encoding without its first and last (`[CLS]`, `[SEP]`): what ``TokenEmbeddings`` keeps.
    public func innerPieces<Ids: Collection<Int32>>(_ ids: Ids) -> [String] {
        guard ids.count > 2 else { return [] }
        return ids.dropFirst().dropLast().map { piece($0) ?? "[UNK]" }
    }

    /// Loads `vocab.txt` (one token per line; the line number is the id).
    public init(vocabularyFile: URL, configuration: Configuration = Configuration()) throws {
        let text: String
        do {
            text = try String(contentsOf: vocabularyFile, encoding: .utf8)
        } catch {
            throw AerieError.notFound("Cannot read the vocabulary \(vocabularyFile.path): \(error.localizedDescription). Install the model with `aerie models install minilm`.")
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
        }
        if lines.last == "" { lines.removeLast() }
        try self.init(vocabulary: lines, configuration: configuration)
    }

    /// The ids of `text`: `[CLS]`, the pieces (truncated to fit ``Configuration/maxLength``), `[SEP]`.
    public func encode(_ text: String) -> [Int32] {
        var ids = tokenize(text)
        let room = max(configuration.maxLength - 2, 0)
        if ids.count > room { ids.removeLast(ids.count - room) }
        return [clsID] + ids + [sepID]
    }

    /// Encodes each text and pads the rows to the longest one.
    public func encode(batch texts: [String]) -> Batch {
        let rows = texts.map(encode)
        let length = rows.map(\.count).max() ?? 0
        var ids = [Int32](repeating: padID, count: rows.count * length)
        var mask = [Int32](repeating: 0, count: rows.count * length)
        for (r, row) in rows.enumerated() {
            for (c, id) in row.enumerated() {
                ids[r * length + c] = id
                mask[r * length + c] = 1
            }
        }
        return Batch(ids: ids, attentionMask: mask, lengths: rows.map(\.count), length: length)
    }

    /// The piece ids of `text` without special tokens or truncation.
    public func tokenize(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        let scalars = Array(text.unicodeScalars)
        var segmentStart = 0
        var index = 0
        while index < scalars.count {
            if scalars[index] == "[", let special = special(in: scalars, at: index) {
                appendPieces(of: scalars[segmentStart..<index], to: &ids)
                ids.append(special.id)
                index += special.length
                segmentStart = index
            } else {
                index += 1
            }
        }
        appendPieces(of: scalars[segmentStart..<scalars.count], to: &ids)
        return ids
    }

    private func special(in scalars: [Unicode.Scalar], at index: Int) -> (id: Int32, length: Int)? {
        for token in specialTokens where index + token.scalars.count <= scalars.count {
            if scalars[index..<index + token.scalars.count].elementsEqual(token.scalars) {
                return (token.id, token.scalars.count)
            }
        }
        return nil
    }

    private func appendPieces(of segment: ArraySlice<Unicode.Scalar>, to ids: inout [Int32]) {
        guard !segment.isEmpty else { return }
        for word in preTokenize(normalize(segment)) {
            appendWordPieces(of: word, to: &ids)
        }
    }

    // MARK: Normalization (BertNormalizer)

    func normalize(_ input: ArraySlice<Unicode.Scalar>) -> [Unicode.Scalar] {
        var cleaned: [Unicode.Scalar] = []
        cleaned.reserveCapacity(input.count)
        for scalar in input {
            if scalar.value == 0 || scalar.value == 0xFFFD || Self.isControl(scalar) { continue }
            let scalar = Self.isWhitespace(scalar) ? " " : scalar
            if configuration.handleChineseChars, Self.isChineseCharacter(scalar) {
                cleaned.append(" ")
                cleaned.append(scalar)
                cleaned.append(" ")
            } else {
                cleaned.append(scalar)
            }
        }
        if configuration.stripAccents ?? configuration.lowercase {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: cleaned)
            let decomposed = String(view).decomposedStringWithCanonicalMapping
            cleaned = decomposed.unicodeScalars.filter { $0.properties.generalCategory != .nonspacingMark }
        }
        if configuration.lowercase {
            var lowered: [Unicode.Scalar] = []
            lowered.reserveCapacity(cleaned.count)
            for scalar in cleaned {
                if scalar.isASCII {
                    lowered.append(scalar.value >= 65 && scalar.value <= 90 ? Unicode.Scalar(UInt8(scalar.value + 32)) : scalar)
                } else {
                    lowered.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
                }
            }
            cleaned = lowered
        }
        return cleaned
    }

    // MARK: Pre-tokenization (BertPreTokenizer)

    func preTokenize(_ scalars: [Unicode.Scalar]) -> [ArraySlice<Unicode.Scalar>] {
        var words: [ArraySlice<Unicode.Scalar>] = []
        var start: Int? = nil
        for (index, scalar) in scalars.enumerated() {
            if scalar.properties.isWhitespace {
                if let s = start { words.append(scalars[s..<index]); start = nil }
            } else if Self.isPunctuation(scalar) {
                if let s = start { words.append(scalars[s..<index]); start = nil }
                words.append(scalars[index..<index + 1])
            } else if start == nil {
                start = index
            }
        }
        if let s = start { words.append(scalars[s..<scalars.count]) }
        return words
    }

    // MARK: WordPiece

    private func appendWordPieces(of word: ArraySlice<Unicode.Scalar>, to ids: inout [Int32]) {
        if word.count > configuration.maxInputCharsPerWord {
            ids.append(unknownID)
            return
        }
        // UTF-8 offset of each scalar boundary, so pieces are byte slices.
        var utf8: [UInt8] = []
        var boundaries: [Int] = [0]
        for scalar in word {
            Unicode.UTF8.encode(scalar) { utf8.append($0) }
            boundaries.append(utf8.count)
        }
        let prefix: [UInt8] = Array("##".utf8)
        var pieces: [Int32] = []
        var start = 0
        let end = word.count
        while start < end {
            var stop = end
            var found: Int32? = nil
            while stop > start {
                var key = start > 0 ? prefix : []
                key.append(contentsOf: utf8[boundaries[start]..<boundaries[stop]])
                if let id = vocabulary[key] {
                    found = id
                    break
                }
                stop -= 1
            }
            guard let id = found else {
                ids.append(unknownID)
                return
            }
            pieces.append(id)
            start = stop
        }
        ids.append(contentsOf: pieces)
    }

    // MARK: Character classes (as in tokenizers' normalizers/bert.rs and pre_tokenizers/bert.rs)

    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "\t", "\n", "\r": true
        default: scalar.properties.isWhitespace
        }
    }

    /// Cc, Cf and Co, except tab, newline and carriage return (which are whitespace).
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "\t", "\n", "\r": return false
        default:
            switch scalar.properties.generalCategory {
            case .control, .format, .privateUse, .surrogate: return true
            default: return false
            }
        }
    }

    static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            let v = scalar.value
            return (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v)
        }
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
            .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    static func isChineseCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
            0x2B740...0x2B81F, 0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            true
        default:
            false
        }
    }
}
