"""Test files, read with regular expressions rather than parsed (a big package's test suite
is most of its source): which `module.Name` they patch, and which they read as attributes.
The same attribute reader serves project modules (`_scan._attribute_reads`)."""

from __future__ import annotations

import re

from ._scan_model import ModuleScan, resolve_relative

__all__ = ["scan_patches", "scan_test_attribute_reads", "attribute_chains"]


# -- tests: which `module.Name` they patch -------------------------------------------------

_PATCH_STRING = re.compile(r"""\b(?:patch|setattr|delattr)\(\s*['"]([A-Za-z_][\w.]*\.[A-Za-z_]\w*)['"]""")
_PATCH_OBJECT = re.compile(
    r"""\b(?:setattr|delattr|object|patch_object)\(\s*([A-Za-z_][\w.]*)\s*,\s*['"]([A-Za-z_]\w*)['"]""")
_IMPORT_LINE = re.compile(r"^[ \t]*import[ \t]+([\w.]+)(?:[ \t]+as[ \t]+(\w+))?", re.M)
_FROM_LINE = re.compile(r"^[ \t]*from[ \t]+([\w.]+)[ \t]+import[ \t]+([\w, \t]+)$", re.M)


def scan_patches(source: str) -> list[tuple[str, int]]:
    """`("module.Name", line)` for each name a test file patches. Tests are read with regular
    expressions, not parsed: a big package's test suite is most of its source."""
    aliases = import_aliases(source)
    lines = _LineCounter(source)
    found: list[tuple[str, int]] = []
    for match in _PATCH_STRING.finditer(source):
        found.append((match.group(1), lines.at(match.start())))
    lines = _LineCounter(source)
    for match in _PATCH_OBJECT.finditer(source):
        owner = match.group(1)
        head, _, rest = owner.partition(".")
        if head in aliases:
            owner = aliases[head] + (f".{rest}" if rest else "")
        found.append((f"{owner}.{match.group(2)}", lines.at(match.start())))
    return found


def scan_test_attribute_reads(source: str, writes: list[tuple[str, int]] | None = None
                              ) -> list[tuple[str, int]]:
    """`("module.Name", line)` for each `alias.Name` a test file reads through an imported
    name (`from jobrunner import cli` ... `cli.SpecError`): the test needs `Name` there.
    `writes` gets those assigned to (`cli.SpecError = Fake`)."""
    return attribute_chains(source, import_aliases(source), writes)


def attribute_chains(source: str, aliases: dict[str, str],
                     writes: list[tuple[str, int]] | None = None) -> list[tuple[str, int]]:
    """`("target.attr.attr", line)` for each `alias.attr.attr` in `source`; `writes` gets
    those assigned to (`alias.attr = ...`, `alias.attr += ...`)."""
    if not aliases:
        return []
    lines = _LineCounter(source)
    found = []
    for match in _CHAIN.finditer(source):
        if match.group(1) in aliases:
            chain = (aliases[match.group(1)] + match.group(2), lines.at(match.start()))
            found.append(chain)
            if writes is not None and _ASSIGNED.match(source, match.end()):
                writes.append(chain)
    return found


# `name.attr.attr`, not preceded by a dot (`x.name.attr` is an attribute of something else)
_CHAIN = re.compile(r"(?<![\w.])([A-Za-z_]\w*)((?:\.[A-Za-z_]\w*)+)")
# what follows a chain that is assigned to (not `==`)
_ASSIGNED = re.compile(r"[ \t]*(?:[-+*/%&|^@]|//|\*\*|<<|>>)?=(?!=)")


class _LineCounter:
    """1-based line numbers of increasing offsets, counted on from the last one: counting
    from the start of a big test file for every match is quadratic."""

    def __init__(self, source: str) -> None:
        self.source, self.line, self.offset = source, 1, 0

    def at(self, offset: int) -> int:
        self.line += self.source.count("\n", self.offset, offset)
        self.offset = offset
        return self.line


def import_aliases(source: str, scan: ModuleScan | None = None) -> dict[str, str]:
    """Names bound by the import lines of `source` (anywhere, indented too) -> what they
    refer to; relative imports are resolved against `scan`'s module, or skipped."""
    aliases: dict[str, str] = {}
    for match in _IMPORT_LINE.finditer(source):
        name, alias = match.group(1), match.group(2)
        aliases[alias or name.split(".")[0]] = name if alias else name.split(".")[0]
    for match in _FROM_LINE.finditer(source):
        module = match.group(1)
        if module.startswith("."):
            if scan is None:
                continue
            rest = module.lstrip(".")
            module = resolve_relative(scan.name, scan.is_package, len(module) - len(rest),
                                      rest or None)
        for part in match.group(2).split(","):
            words = part.split()
            if words:
                aliases[words[-1]] = f"{module}.{words[0]}"
    return aliases
