"""Seeded mutations of text and bytes, the kinds a hand edit, a bad merge or a broken copy
makes: a flipped byte, a lost or doubled line, a value of the wrong type, a shifted indent,
a truncated file, a stray key, a YAML tag or alias."""

from __future__ import annotations

import random
import re

ODD_VALUES = (
    "",
    "-1",
    "0",
    "1e309",
    "null",
    "~",
    "[]",
    "{}",
    "true",
    "'" + "x" * 300 + "'",
    '"\\u0000"',
    "😀",
    "!!python/object/apply:os.system ['true']",
    "*undefined",
    "&anchor",
    "0x10",
    "99999999999999999999",
    "-5m",
    "1h 2m",
    "[1, [2, [3]]]",
    "{a: {b: {c: d}}}",
    "'${undefined_variable}'",
    "'../../../etc/passwd'",
    "2026-13-45T99:99:99Z",
)
_SCALAR = re.compile(r"^(\s*(?:- )?[A-Za-z][\w.-]*:\s)(.+)$")


def mutate_text(text: str, chooser: random.Random) -> str:
    """One mutation of a YAML or JSON document."""
    lines = text.splitlines(keepends=True) or ["\n"]
    index = chooser.randrange(len(lines))
    kind = chooser.randrange(8)
    if kind == 0:
        data = bytearray(text.encode())
        if data:
            spot = chooser.randrange(len(data))
            data[spot] = chooser.randrange(256)
        return data.decode("utf-8", errors="replace")
    if kind == 1:
        del lines[index]
    elif kind == 2:
        lines.insert(index, lines[index])
    elif kind == 3:
        scalars = [i for i, line in enumerate(lines) if _SCALAR.match(line)]
        if scalars:
            index = chooser.choice(scalars)
            found = _SCALAR.match(lines[index])
            assert found is not None
            lines[index] = f"{found.group(1)}{chooser.choice(ODD_VALUES)}\n"
    elif kind == 4:
        line = lines[index]
        lines[index] = line[2:] if line.startswith("  ") and chooser.random() < 0.5 else "  " + line
    elif kind == 5:
        return text[: chooser.randrange(len(text) + 1)]
    elif kind == 6:
        indent = re.match(r"\s*", lines[index]).group(0)  # type: ignore[union-attr]
        lines.insert(
            index, f"{indent}unexpectedKey{chooser.randrange(100)}: {chooser.choice(ODD_VALUES)}\n"
        )
    else:
        other = chooser.randrange(len(lines))
        lines[index], lines[other] = lines[other], lines[index]
    return "".join(lines)


def mutate_bytes(data: bytes, chooser: random.Random) -> bytes:
    """One mutation of a file's bytes (never a no-op)."""
    kind = chooser.randrange(5)
    if kind == 0 and data:
        spot = chooser.randrange(len(data))
        changed = bytearray(data)
        changed[spot] ^= 1 << chooser.randrange(8)
        return bytes(changed)
    if kind == 1 and data:
        return data[: chooser.randrange(len(data))]
    if kind == 2:
        return data + bytes([chooser.randrange(256)])
    if kind == 3 and b"\n" in data.rstrip(b"\n"):
        lines = data.split(b"\n")
        del lines[chooser.randrange(len(lines))]
        mutated = b"\n".join(lines)
        if mutated != data:
            return mutated
    return data + b"\n{}"
