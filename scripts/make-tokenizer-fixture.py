#!/usr/bin/env python3
"""Writes Tests/AerieTextTests/Fixtures/tokenizer-parity.jsonl: sentences and the ids that the
Hugging Face `tokenizers` package gives them with all-MiniLM-L6-v2's tokenizer.json.

The Swift WordPiece tokenizer (AerieText) must produce identical ids for every line.

    python3 -m venv .venv && .venv/bin/pip install tokenizers numpy safetensors
    .venv/bin/python scripts/make-tokenizer-fixture.py MODEL_DIR   # MODEL_DIR: <data>/models/minilm

The sentences are deterministic (seeded): English prose from the docstrings of Python's standard
library, hand-written multilingual sentences (accents, Greek, Cyrillic, CJK, Arabic, Thai, Hindi),
emoji, special tokens typed as text, control and zero-width characters, random Unicode mixtures,
over-long words (more than 100 characters) and inputs longer than the 256-token limit.
"""

import inspect
import json
import random
import sys
from pathlib import Path

from tokenizers import Tokenizer

MAX_LENGTH = 256  # sentence_bert_config.json: max_seq_length

HANDWRITTEN = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "Café au lait, s'il vous plaît — merci beaucoup!",
    "Über den Wolken muss die Freiheit wohl grenzenlos sein; Straße, Größe, Maß.",
    "¿Dónde está la biblioteca? ¡Está allí, señor!",
    "Tiếng Việt có nhiều dấu: ả, ã, ạ, ầ, ẩ, ẫ, ậ.",
    "Ελληνικά: Καλημέρα κόσμε, ΣΟΦΟΣ και σοφός.",
    "Русский язык: Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "中文句子：我喜欢机器学习和自然语言处理。",
    "日本語の文章です。東京は大きい都市です！カタカナとひらがな。",
    "한국어 문장입니다. 서울은 아름다운 도시입니다.",
    "العربية: مرحبا بالعالم، كيف حالك؟",
    "हिन्दी: नमस्ते दुनिया, आप कैसे हैं?",
    "ภาษาไทย: สวัสดีชาวโลก",
    "עברית: שלום עולם",
    "Emoji: I love pizza 🍕🍕 and cats 🐱! 👍🏽 👨‍👩‍👧‍👦 🫠",
    "Special tokens as text: [CLS] hello [SEP] world [MASK] [UNK] [PAD] [mask] [ CLS ]",
    "Tabs\tand\nnewlines\r\nand   multiple    spaces.",
    "Zero\u200bwidth\u200cjoiners\u200dand soft\u00adhyphens.",
    "Control chars: a\x00b\x01c\x7fd\ufffde",
    "Private use: \ue000\uf8ff done.",
    "Ligatures: ﬁne ﬂow ﬀ; full-width: ＡＢＣ１２３！",
    "Math: ∑ᵢ xᵢ² ≤ ∞, α+β=γ, √2 ≈ 1.414, ½ ⅓ ¼.",
    "Currency: $100, €50, £30, ¥1000, ₹200, ₿0.5.",
    "Quotes: “smart quotes”, ‘single’, «guillemets», „German“.",
    "URLs: https://example.com/path?query=1&x=y#frag and email foo.bar@baz.org",
    "Code: for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }",
    "Numbers: 3.14159, 1,000,000, 42nd, 1st, 2nd, 3rd, 1e-12, 0x1F.",
    "Dashes - – — and ellipsis… and bullets • ◦.",
    "Roman numerals Ⅻ and circled ① ② ③.",
    "İstanbul, ǅemal, ǈ, ǋ — titlecase letters.",
    "Combining: a\u0300\u0301 e\u0308 n\u0303 o\u0302.",
    "",
    " ",
    "a",
    "!!!",
    "unaffable unbelievable antidisestablishmentarianism",
    "supercalifragilisticexpialidocious",
]

SCRIPTS = [
    (0x0041, 0x007A), (0x00C0, 0x017F), (0x0370, 0x03FF), (0x0400, 0x04FF),
    (0x0590, 0x05FF), (0x0600, 0x06FF), (0x0900, 0x097F), (0x0E00, 0x0E7F),
    (0x3040, 0x30FF), (0x4E00, 0x4FFF), (0xAC00, 0xAD00), (0x1F300, 0x1F64F),
    (0x2000, 0x206F), (0x0300, 0x036F), (0x2190, 0x22FF), (0xFF00, 0xFFEF),
    (0x20000, 0x20100), (0x0000, 0x001F),
]


def stdlib_sentences(limit):
    """Sentences from the docstrings of standard-library modules (ships with Python)."""
    import collections, json as json_module, os, pathlib, re, string, textwrap, typing, unittest, argparse, email, http, logging, random as random_module
    modules = [collections, json_module, os, pathlib, re, string, textwrap, typing, unittest, argparse, email, http, logging, random_module, inspect]
    out = []
    seen = set()
    for module in modules:
        for _, member in inspect.getmembers(module):
            doc = inspect.getdoc(member)
            if not doc:
                continue
            for paragraph in doc.split("\n\n"):
                text = " ".join(paragraph.split())
                if 10 <= len(text) <= 600 and text not in seen:
                    seen.add(text)
                    out.append(text)
    return out[:limit]


def random_unicode(rng, length):
    chars = []
    for _ in range(length):
        lo, hi = rng.choice(SCRIPTS)
        cp = rng.randint(lo, hi)
        if 0xD800 <= cp <= 0xDFFF:
            continue
        chars.append(chr(cp))
        if rng.random() < 0.2:
            chars.append(" ")
    return "".join(chars)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make-tokenizer-fixture.py MODEL_DIR  (run `aerie models install minilm` first)")
    model_dir = Path(sys.argv[1])
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_LENGTH)

    rng = random.Random(20261123)
    sentences = list(HANDWRITTEN)
    prose = stdlib_sentences(700)
    sentences += prose
    # Mixed-case and accented variants of prose.
    for text in rng.sample(prose, 80):
        sentences.append(text.upper())
    accents = str.maketrans("aeiouncAEIOUNC", "áèîöûñçÁÈÎÖÛÑÇ")
    for text in rng.sample(prose, 60):
        sentences.append(text.translate(accents))
    # Emoji and CJK sprinkled into prose.
    emoji = ["😀", "🚀", "🍕", "❤️", "👍🏽", "🇫🇷", "🤖", "✨", "🫠", "🧑‍💻"]
    cjk = ["机器学习", "東京", "한국", "ひらがな", "漢字", "𠀋"]
    for text in rng.sample(prose, 60):
        words = text.split()
        for _ in range(3):
            words.insert(rng.randrange(len(words) + 1), rng.choice(emoji + cjk))
        sentences.append(" ".join(words))
    # Random Unicode mixtures.
    for _ in range(120):
        sentences.append(random_unicode(rng, rng.randint(1, 80)))
    # Over-long words (max_input_chars_per_word is 100) and inputs over the token limit.
    for n in (99, 100, 101, 150):
        sentences.append("x" * n + " end")
        sentences.append("start " + "ab" * (n // 2) + "!")
    for _ in range(12):
        sentences.append(" ".join(rng.sample(prose, 12)))
    sentences.append("word " * 400)
    sentences.append("中" * 300)

    out = Path(__file__).resolve().parent.parent / "Tests/AerieTextTests/Fixtures/tokenizer-parity.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for text in sentences:
            ids = tokenizer.encode(text).ids
            f.write(json.dumps({"text": text, "ids": ids}, ensure_ascii=False) + "\n")
    print(f"wrote {len(sentences)} sentences to {out}")


if __name__ == "__main__":
    main()
