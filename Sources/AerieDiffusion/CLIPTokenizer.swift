import AerieCore
import Foundation

/// CLIP's byte-level BPE tokenizer (`tokenizer/vocab.json` + `merges.txt`).
struct CLIPTokenizer: Sendable {
}
