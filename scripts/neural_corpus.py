#!/usr/bin/env python3
"""A corpus of distinct English sentences for the vector benchmark (bench/neural.py), from the manual pages
that Debian packages install under /usr/share/man/man1..man8 (roff source, gzipped; the English sections
only, not the translations). The roff markup is stripped with regular expressions (no groff needed),
paragraphs are split into sentences, and sentences of 5 to 60 words are kept once each, in a stable order.

    python3 scripts/neural_corpus.py OUT.txt [--count 120000]

Writes one sentence a line; prints how many man pages and sentences it used.
"""

import argparse
import gzip
import re
import sys
from pathlib import Path

FONT = re.compile(r"\\f(\[[^\]]*\]|\(..|.)")
ESCAPE = re.compile(r"\\(\(..|\[[^\]]*\]|[*$]\(?..?|[&|^%:ec~0 -]|s[-+]?\d|.)")
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def page_text(raw: str) -> list[str]:
    """The running text of a roff page as paragraphs."""
    paragraphs, current = [], []
    for line in raw.splitlines():
        if line.startswith((".", "'")):
            macro = line[1:].split(" ", 1)
            name = macro[0].strip()
            if name in ("B", "I", "BR", "IR", "RB", "BI", "IB", "RI", "SM") and len(macro) > 1:
                current.append(macro[1].replace('"', ""))
            else:
                if current:
                    paragraphs.append(" ".join(current))
                current = []
            continue
        if line.startswith('\\"'):
            continue
        current.append(line)
    if current:
        paragraphs.append(" ".join(current))
    out = []
    for paragraph in paragraphs:
        text = ESCAPE.sub(lambda m: "-" if m.group(0) == "\\-" else "", FONT.sub("", paragraph))
        out.append(re.sub(r"\s+", " ", text).strip())
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--count", type=int, default=120_000)
    parser.add_argument("--root", default="/usr/share/man")
    args = parser.parse_args()
    seen, sentences, pages = set(), [], 0
    files = sorted(p for section in range(1, 9) for p in Path(args.root, f"man{section}").glob("*.gz"))
    for path in files:
        try:
            raw = gzip.open(path, "rt", encoding="utf-8", errors="replace").read()
        except (OSError, EOFError):
            continue
        if raw.startswith(".so "):
            continue
        pages += 1
        for paragraph in page_text(raw):
            for sentence in SENTENCE.split(paragraph):
                words = sentence.split()
                if not 5 <= len(words) <= 60 or not sentence[0].isupper() or not sentence.endswith((".", "!", "?")):
                    continue
                key = sentence.lower()
                if key in seen:
                    continue
                seen.add(key)
                sentences.append(sentence)
        if len(sentences) >= args.count:
            break
    sentences = sentences[: args.count]
    Path(args.out).write_text("\n".join(sentences) + "\n", encoding="utf-8")
    print(f"{len(sentences)} distinct sentences from {pages} man pages under {args.root}/man1..8", file=sys.stderr)


if __name__ == "__main__":
    main()
