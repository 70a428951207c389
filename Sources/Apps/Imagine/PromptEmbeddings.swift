import AerieCore
import AerieText
import Synchronization

/// The embeddings of prompts, kept for the most recent ones: the sentence vector searches the cache index, the token
/// vectors feed ``PromptMatcher``. A request's prompt is embedded once (the route's embedding serves `imagine-generate`
/// in the same process), and a cached prompt's tokens are computed once while it stays among the recent ones, so a hit
/// costs one pass of the model.
final class PromptEmbeddings: Sendable {
    let embedder: any SentenceEmbedder
    /// Prompts kept at most; beyond it the least recently used quarter goes.
    let capacity: Int
    private let memo = Mutex<Memo>(Memo())

    private struct Memo {
        var entries: [String: (embeddings: TokenEmbeddings, used: UInt64)] = [:]
        var clock: UInt64 = 0
    }

    init(embedder: any SentenceEmbedder, capacity: Int = 1024) {
        self.embedder = embedder
        self.capacity = max(capacity, 1)
    }

    /// The sentence and token embeddings of `prompt`, computed now unless kept.
    func embeddings(_ prompt: String) throws -> TokenEmbeddings {
        if let kept = memo.withLock({ memo -> TokenEmbeddings? in
            guard let entry = memo.entries[prompt] else { return nil }
            memo.clock += 1
            memo.entries[prompt]?.used = memo.clock
            return entry.embeddings
        }) {
            return kept
        }
        guard let computed = try embedder.embedTokens([prompt]).first else {
            throw AerieError(.internal, "The sentence encoder returned no embedding.")
        }
        memo.withLock { memo in
            memo.clock += 1
            memo.entries[prompt] = (computed, memo.clock)
            if memo.entries.count > capacity {
                let oldest = memo.entries.sorted { $0.value.used < $1.value.used }.prefix(max(capacity / 4, 1))
                for (key, _) in oldest { memo.entries[key] = nil }
            }
        }
        return computed
    }
}
