"""Text from outside hotstart made safe to print: one definition for the renderers and the CLI."""

from __future__ import annotations

__all__ = ["printable", "diff_path"]


def printable(text: object) -> str:
    """`text` with every character a terminal would act on shown as a Python escape.

    Module names, paths, argv and call names come from profiles, projects and targets, which
    anyone can write: an ESC (`\\x1b`), a bidi override (`\\u202e`) or a lone surrogate would
    drive or confuse the terminal, or fail to encode. A newline becomes `\\n`, so a message
    stays one line. Printable text (spaces included) is returned as is.
    """
    text = str(text)
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


_C_ESCAPES = {"\a": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v", "\f": "\\f",
              "\r": "\\r", '"': '\\"', "\\": "\\\\"}


def diff_path(prefix: str, path: str) -> str:
    """`prefix + path` for a diff header, quoted as git quotes an unusual file name
    (`"a/m\\033[31m.py"`): safe on a terminal, and still read by `git apply` and `patch`."""
    name = prefix + path
    if name.isprintable() and '"' not in name and "\\" not in name:
        return name
    quoted = []
    for char in name:
        if char in _C_ESCAPES:
            quoted.append(_C_ESCAPES[char])
        elif char.isprintable():
            quoted.append(char)
        else:  # each byte in octal; a lone surrogate is an undecodable byte of the name
            quoted.extend(f"\\{byte:03o}" for byte in char.encode("utf-8", "surrogateescape"))
    return '"' + "".join(quoted) + '"'
