"""The profile as folded stacks: the input of flamegraph.pl, inferno and speedscope.

One line per module, `frame;frame;frame value`: the chain of importers from the root down
to the module, then the module's own cost, so a flame graph's widths are cumulative costs.
`metric="time"`: self time in µs, each module's median rounded to the nearest integer (half
to even) on its own, so the lines of a module add up to its rounded self time; negative self
times count 0. `metric="memory"`: self RSS growth in bytes, rounded likewise; negative
deltas and modules without an RSS figure count 0. Lines with value 0 are left out.

With several processes, the first frame names the process (`pid 1234 python mp.py`), so
that processes do not merge; a thread other than the main one adds a frame (`thread 1402`).
Chains follow `_timeline` (a module imported from another thread is a root of its own).

Frame names are escaped so that every reader splits them as written: `%`, `;` and every
character `str.isprintable` rejects (newlines and other control characters, whitespace
other than the space, format characters such as bidi overrides, lone surrogates) are
percent-encoded as their UTF-8 bytes (`;` is `%3B`, a newline `%0A`; a lone surrogate is
encoded as UTF-8 would encode it if allowed). In a module's frame, a space followed by a
number at the end (`x 12`, `x 1.5`) is written `%20`: flamegraph.pl would read that number as
a second count (its differential format). An empty name is written `%`. So
`urllib.parse.unquote(frame, errors="surrogatepass")` gives the name back (bar `%` alone),
and distinct names stay distinct frames. Failed lookups carry their status: `msvcrt
[missing]`.

Every line holds its module's whole chain, so the output grows with the square of the tree's
depth (a chain of 20,000 imports would take 2 GB). Its size is computed first, in linear time:
beyond `MAX_FOLDED_CHARS`, `BadInput` says so instead of filling the memory for minutes.
"""

from __future__ import annotations

import re

from ..errors import BadInput
from ..measure.model import ModuleRecord, Profile
from ._timeline import chain, label, layout, process_names, short_argv, thread_name

__all__ = ["MAX_FOLDED_CHARS", "METRICS", "escape_frame", "render_folded"]

METRICS = ("time", "memory")

#: The largest output written, in characters: far above any real profile (20,000 modules 25
#: deep take about 30 MB), far below what a pathologically deep tree would take.
MAX_FOLDED_CHARS = 256 << 20

#: The space before a number ending a frame: flamegraph.pl reads `^(.*)\s+?(\d+(?:\.\d*)?)$`
#: twice (a differential file has two counts), so such a frame would lose its end. Other
#: whitespace is percent-encoded already.
_TRAILING_NUMBER = re.compile(r" (?=[0-9]+(?:\.[0-9]*)?$)")


def escape_frame(name: str, *, last: bool = True) -> str:
    """`name` as one folded frame (see the module docstring); `last=False` for frames never
    at the end of a line (process and thread labels), which keep a trailing number."""
    if not name:
        return "%"
    if name.isprintable() and ";" not in name and "%" not in name:
        out = name
    else:
        out = "".join(char if char.isprintable() and char not in ";%" else _percent(char)
                      for char in name)
    if last:
        out = _TRAILING_NUMBER.sub("%20", out)
    return out


def render_folded(profile: Profile, *, metric: str = "time") -> str:
    """Folded stacks of self time (µs) or self RSS growth (bytes), one line per module."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}: expected one of {', '.join(METRICS)}")
    names = process_names(profile)
    several = len(profile.processes) > 1
    drawn = []
    size = 0
    for track in layout(profile):
        head = []
        if several:
            process = profile.processes[track.process]
            head.append(escape_frame(f"{names[track.process]} {short_argv(process.argv)}",
                                     last=False))
        if track.thread != "main":
            head.append(escape_frame(thread_name(track.thread), last=False))
        frames = [escape_frame(label(span.record)) for span in track.spans]
        values = [_value(span.record, metric) for span in track.spans]
        # The length of each line's stack, from its parent's (spans are in pre-order).
        stack_length = [0] * len(frames)
        top = sum(len(frame) + 1 for frame in head)
        for index, span in enumerate(track.spans):
            stack_length[index] = len(frames[index]) + (
                top if span.parent is None else stack_length[span.parent] + 1)
            if values[index] > 0:
                size += stack_length[index] + len(str(values[index])) + 2
        drawn.append((track, head, frames, values))
    if size > MAX_FOLDED_CHARS:
        raise BadInput(f"the folded stacks of this profile would take {size / 1e6:,.0f} MB "
                       f"(more than {MAX_FOLDED_CHARS / 1e6:,.0f}): "
                       f"each line holds its module's whole chain, and the import tree is "
                       f"{1 + max(s.depth for t, *_ in drawn for s in t.spans):,} levels "
                       f"deep; draw it with --format speedscope, trace or html")
    lines: list[str] = []
    for track, head, frames, values in drawn:
        for index, value in enumerate(values):
            if value <= 0:
                continue
            # only for lines written: the work is the size of the output, however deep
            lines.append(";".join(head + [frames[at] for at in chain(track, index)])
                         + f" {value}\n")
    return "".join(lines)


def _value(record: ModuleRecord, metric: str) -> int:
    stat = record.self_us if metric == "time" else record.self_rss
    return 0 if stat is None or not stat.median > 0 else round(stat.median)


def _percent(char: str) -> str:
    return "".join(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
