"""One sanitizer for every name mcuq shows or emits.

Tensor names, op names and file names come from the model file and can hold anything: `*/`,
newlines, quotes, backslashes, trigraphs (`??/` is a backslash in C99), non-ASCII bytes, or
kilobytes of garbage. `safe_text(s)` returns printable ASCII that is inert inside a C/C++
comment (block or line), a C string literal, Markdown and a terminal line:

- characters outside printable ASCII, and `"` and `\\`, become `<xx>` (their code in hex; `<U+xxxx>`
  beyond one byte), so nothing is silently merged;
- the second character of `*/`, `/*` and `??` becomes `<2f>`, `<2a>` and `<3f>` (no comment end,
  no nested comment start, no trigraph);
- the result is at most `limit` characters, cut on a whole piece and marked with `...`.

Every template prints names through the `safe` filter (mcuq.codegen.render) and error messages
through `label()`, which is the same function with a shorter limit.
"""
from __future__ import annotations

#: Longest name in generated C/C++ comments, strings and READMEs.
EMIT_LIMIT = 120
#: Longest name quoted in an error message or a report line.
MESSAGE_LIMIT = 64
_PAIRS = {"*/": "<2f>", "/*": "<2a>", "??": "<3f>"}


def _piece(ch: str) -> str:
    o = ord(ch)
    if 0x20 <= o < 0x7F and ch not in '"\\':
        return ch
    return f"<{o:02x}>" if o < 0x100 else f"<U+{o:04x}>"


def safe_text(s, limit: int = EMIT_LIMIT) -> str:
    """`s` (str or bytes) as inert printable ASCII of at most `limit` characters."""
    if isinstance(s, (bytes, bytearray)):
        s = bytes(s).decode("utf-8", errors="replace")
    s = str(s)
    pieces: list[str] = []
    prev = ""
    for ch in s:
        p = _piece(ch)
        if p == ch and (prev + ch) in _PAIRS:
            p = _PAIRS[prev + ch]
            prev = ""  # "???" -> "?<3f>?": the third '?' starts a new pair
        else:
            prev = ch if p == ch else ""
        pieces.append(p)
    out, n = [], 0
    budget = max(limit, 4)
    total = sum(len(p) for p in pieces)
    if total <= budget:
        return "".join(pieces)
    for p in pieces:
        if n + len(p) > budget - 3:
            break
        out.append(p)
        n += len(p)
    text = "".join(out)
    # never leave a '*', '/' or '?' before the dots that could pair with them
    while text and text[-1] in "*/?":
        text = text[:-1]
    return text + "..."


def label(s, limit: int = MESSAGE_LIMIT) -> str:
    """A name for an error message or report: safe_text with the message limit."""
    return safe_text(s, limit)


__all__ = ["safe_text", "label", "EMIT_LIMIT", "MESSAGE_LIMIT"]
