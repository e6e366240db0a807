"""Formatting shared by the text renderers: numbers, sites, and text from the profile."""

from __future__ import annotations

import os

from .._text import printable  # noqa: F401 (the renderers import it from here)
from ..measure.model import Stat


def printable_lines(lines: list[str]) -> str:
    """`lines` as text, each escaped by `printable`: names and paths come from the project."""
    return "".join(printable(line) + "\n" for line in "\n".join(lines).split("\n"))


def ms(us: float | None, digits: int = 1) -> str:
    return "-" if us is None else f"{us / 1e3:.{digits}f}"


def size(nbytes: float | None, signed: bool = False) -> str:
    """Bytes as a short human figure: 512K, 72.3M, 1.20G."""
    if nbytes is None:
        return "-"
    sign = ("+" if nbytes > 0 else "-" if nbytes < 0 else "") if signed else ("-" if nbytes < 0 else "")
    value = abs(nbytes)
    if value < 1 << 20:
        return f"{sign}{value / 1024:.0f}K"
    if value < 1 << 30:
        return f"{sign}{value / (1 << 20):.1f}M"
    return f"{sign}{value / (1 << 30):.2f}G"


def stat_ms(stat: Stat | None) -> str:
    if stat is None:
        return "-"
    return f"{ms(stat.median)} ms (min {ms(stat.min)}, max {ms(stat.max)})"


def short_site(site: str | None, keep: int = 2) -> str:
    """`path/to/pkg/mod.py:12` -> `pkg/mod.py:12` (the last `keep` path parts)."""
    if not site:
        return ""
    site = printable(site)
    path, _, line = site.rpartition(":")
    if not path:
        return site
    parts = path.replace(os.sep, "/").split("/")
    return "/".join(parts[-keep:]) + ":" + line


def origin_label(kind: str, distribution: str | None) -> str:
    return printable(f"{kind} ({distribution})" if distribution else kind)
