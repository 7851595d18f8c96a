"""What AUTOMATIC1111 users type in a prompt besides words: LoRA tags, emphasis, embeddings.

    split_loras("a fox <lora:watercolor:0.7>")  # -> ("a fox", (LoraRef("watercolor", 0.7),))
    emphasis("a (red:1.3) fox, [blurry]")       # -> [("a ", 1.0), ("red", 1.3), (" fox, ", 1.0),
                                                #     ("blurry", 0.909...)]
    needs_weighting("a (red:1.3) fox")          # -> True: encode it with weights (compel)
    used_embeddings(["a fox, EasyNegative"], ["easynegative"])   # -> ["easynegative"]

- `<lora:NAME>` / `<lora:NAME:WEIGHT>` (and `<lyco:...>`, the LyCORIS spelling) name a LoRA of
  the model source by its id with a weight (1 when left out); the engine takes them out of the
  prompt the model reads (ai/engine.py) and merges them with the request's LoRAs.
- Emphasis as in A1111: `(words)` multiplies their weight by 1.1, `[words]` divides it by 1.1,
  `(words:1.3)` sets the factor, brackets nest, `\\(` is a literal bracket. Only the notation is
  read here; the weighted prompt embeddings (and prompts past 77 tokens) are made by the
  `compel` library in the local backend (backends/local_lora.py), which does not read A1111's
  notation itself.
- A textual-inversion embedding is used by writing its name (its file name) as a word in the
  prompt or the negative prompt, in any case.

Pure text: no torch, no Qt.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from .conditioning import LoraRef
from .errors import RequestError

ROUND = 1.1            # A1111's factor for (words)
SQUARE = 1 / 1.1       # ... and for [words]

_LORA = re.compile(r"<(?:lora|lyco):([^<>]*)>", re.IGNORECASE)
_EMPHASIS = re.compile(
    r"\\[()\[\]\\]"                       # an escaped bracket or backslash: literal
    r"|\("                                # opens x1.1
    r"|\["                                # opens /1.1
    r"|:\s*([+-]?(?:\d+\.?\d*|\.\d+))\s*\)"   # :1.3) closes a round bracket with its factor
    r"|\)|\]"                             # closes
    r"|[^\\()\[\]:]+|[\\:]",              # text
)


def split_loras(prompt: str) -> tuple[str, tuple[LoraRef, ...]]:
    """(the prompt without its `<lora:...>` tags, the LoRAs they name in order; a LoRA named
    twice takes its last weight). A RequestError says which tag cannot be read."""
    refs: dict[str, float] = {}

    def take(m: re.Match[str]) -> str:
        parts = [p.strip() for p in m.group(1).split(":")]
        name = parts[0]
        if not name:
            raise RequestError(f"the LoRA tag {m.group(0)} names no LoRA")
        weight = 1.0
        numbers = [p for p in parts[1:] if p and "=" not in p]
        if numbers:
            try:
                weight = float(numbers[0])
            except ValueError:
                raise RequestError(f"the weight in {m.group(0)} is not a number") from None
        else:  # A1111's named form <lora:name:unet=0.8>
            named = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
            value = named.get("unet", named.get("te"))
            if value is not None:
                try:
                    weight = float(value)
                except ValueError:
                    raise RequestError(f"the weight in {m.group(0)} is not a number") from None
        refs.pop(name, None)
        refs[name] = weight
        return " "

    if "<" not in prompt:
        return prompt, ()
    clean = _LORA.sub(take, prompt)
    if not refs:
        return prompt, ()
    clean = re.sub(r"[ \t]{2,}", " ", clean)
    clean = re.sub(r"\s+([,.;])", r"\1", clean)
    clean = re.sub(r",(\s*,)+", ",", clean).strip().strip(",").strip()
    return clean, tuple(LoraRef(n, w) for n, w in refs.items())


def emphasis(prompt: str) -> list[tuple[str, float]]:
    """The prompt as (text, weight) fragments under A1111's emphasis rules (see the module);
    neighbours of equal weight are merged. Brackets left open act to the end, as in A1111."""
    out: list[tuple[str, float]] = []
    stack: list[tuple[str, int]] = []   # open brackets: kind and where their text starts

    def add(text: str) -> None:
        out.append((text, 1.0))

    def close(factor: float) -> None:
        _, start = stack.pop()
        for i in range(start, len(out)):
            out[i] = (out[i][0], out[i][1] * factor)

    for m in _EMPHASIS.finditer(prompt):
        tok = m.group(0)
        if tok.startswith("\\") and len(tok) == 2:
            add(tok[1])
        elif tok == "(":
            stack.append(("(", len(out)))
        elif tok == "[":
            stack.append(("[", len(out)))
        elif m.group(1) is not None and stack and stack[-1][0] == "(":
            try:
                factor = float(m.group(1))
            except ValueError:
                factor = ROUND
            close(factor)
        elif tok == ")" and stack and stack[-1][0] == "(":
            close(ROUND)
        elif tok == "]" and stack and stack[-1][0] == "[":
            close(SQUARE)
        else:
            add(tok)
    while stack:
        kind, _ = stack[-1]
        close(ROUND if kind == "(" else SQUARE)
    merged: list[tuple[str, float]] = []
    for text, w in out:
        if merged and merged[-1][1] == w:
            merged[-1] = (merged[-1][0] + text, w)
        else:
            merged.append((text, w))
    return [(t, w) for t, w in merged if t] or [("", 1.0)]


def plain_text(fragments: Sequence[tuple[str, float]]) -> str:
    """The words of the fragments, without weights (the pooled SDXL embedding reads these)."""
    return "".join(t for t, _ in fragments)


def needs_weighting(prompt: str) -> bool:
    """Whether `prompt` uses emphasis (or escapes) and so needs weighted embeddings; a plain
    prompt goes to the pipeline as text, exactly as before."""
    if not any(c in prompt for c in "()[]\\"):
        return False
    frags = emphasis(prompt)
    return any(w != 1.0 for _, w in frags) or plain_text(frags) != prompt


def _word(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])", re.IGNORECASE)


def used_embeddings(texts: Iterable[str | None], names: Iterable[str]) -> list[str]:
    """The embedding names (file names without extension) written as words in `texts`, in the
    order of `names`; case does not matter, as in A1111."""
    body = "\n".join(t for t in texts if t)
    if not body:
        return []
    return [n for n in names if n and _word(n).search(body)]


def with_embedding_names(text: str, names: Iterable[str]) -> str:
    """`text` with each of `names` written exactly as the name (the token the embedding is
    loaded under), wherever it appears as a word in another case."""
    for n in names:
        text = _word(n).sub(n.replace("\\", "\\\\"), text)
    return text
