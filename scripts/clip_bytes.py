"""CLIP's byte-level BPE alphabet, shared by the diffusion model generator and the Python reference pipeline."""


def bytes_to_unicode():
    """Maps every byte to a printable character, as CLIP's (and GPT-2's) tokenizer does."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    codes = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + extra)
            extra += 1
    return dict(zip(printable, [chr(c) for c in codes]))
