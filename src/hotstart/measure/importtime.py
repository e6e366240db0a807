"""Parse the stderr output of ``python -X importtime`` in every CPython dialect.

CPython (``Python/import.c``) prints, on the first import, the header::

    import time: self [us] | cumulative | imported package

and then one line per fresh import when that import *completes*, so the lines
come in post-order (children before their parent)::

    fprintf(stderr, "import time: %9ld | %10ld | %*s%s\\n",
            self_us, cumulative_us, import_level*2, "", name);

The name is indented by two spaces per nesting level after the second ``|``
and one separating space.  ``self_us`` can be negative when imports run in
several threads, because the accumulator of child times is process-global.

Python 3.14 added ``-X importtime=2``, which also logs every import that finds
its module already in ``sys.modules``, at the moment of the lookup::

    fprintf(stderr, "import time: cached    | cached     | %*s\\n",
            import_level*2, name);

Note that CPython applies the field width to the *name* itself: the name is
right-aligned in a field ``2*level`` wide instead of being indented, so the
level of a ``cached`` line is only visible in the text when the name is
shorter than its field.  When it is not, the text only gives an upper bound
and the parser bounds the level by the neighbouring lines: between two
printed lines the level can only rise, and a fresh line at depth ``d`` is
printed right after the level drops from ``d + 1`` to ``d``.  A
``cached`` line whose first column is right-aligned (``%9s``, as in
``"import time:    cached |     cached |   name"``) is read as indented like
a fresh line.

The log is interleaved with the program's own stderr, and with the logs of
child processes started with ``PYTHONPROFILEIMPORTTIME=1``, each of which
begins with its own header.  :func:`parse` splits the stream into sections at
header lines and never raises: not on inconsistent nesting (threads share one
global nesting level, so their depths can contradict each other), nor on any
other text.  A line CPython cannot have printed (such as a number longer than
the 19 digits of a C ``long``) is one of the program's own lines.
"""

import re
from dataclasses import dataclass, field

__all__ = ["ImportTimeEntry", "ImportTimeLog", "is_importtime_line", "parse"]

_PREFIX = "import time:"
_HEADER_COLUMNS = ("self [us]", "cumulative", "imported package")
_CACHED = "cached"
# CPython prints a C `long` (`%ld`): at most 19 digits. Longer numbers cannot come from
# CPython, and `int()` refuses more than 4,300 digits: such a line is not an importtime line.
_INTEGER = re.compile(r"-?[0-9]{1,19}")


@dataclass(frozen=True, slots=True)
class ImportTimeEntry:
    """One import reported by ``-X importtime``.

    Attributes:
        name: Absolute module name as printed (``"json.decoder"``).
        self_us: Microseconds spent in the module itself, rounded up; ``None``
            for ``cached`` lines.  Can be negative in multi-threaded output.
        cumulative_us: Microseconds including nested fresh imports, rounded
            up; ``None`` for ``cached`` lines.
        depth: Nesting level; 0 means imported directly by the program.  For
            a ``cached`` line whose level the output does not pin down, the
            smallest level consistent with the surrounding lines.
        order: Index of this entry in its log's ``entries`` (line order, which
            for fresh imports is completion order).
        parent: Index of the enclosing fresh import's entry in the same log;
            ``None`` at depth 0, when that import never printed its line
            (output cut short, process killed), or when it cannot be
            determined.
        cached: ``True`` for ``-X importtime=2`` cache-hit lines.
    """

    name: str
    self_us: int | None
    cumulative_us: int | None
    depth: int
    order: int
    parent: int | None
    cached: bool


@dataclass(slots=True)
class ImportTimeLog:
    """The importtime entries and other lines of one section of a stream.

    A section starts at a header line (normally the first import of one
    process) and runs to the next header line.

    Attributes:
        entries: Parsed importtime lines in line order.
        other_lines: Lines of the section that are not importtime lines (the
            program's own stderr), in order, without line terminators.
    """

    entries: list[ImportTimeEntry] = field(default_factory=list)
    other_lines: list[str] = field(default_factory=list)

    @property
    def dialect(self) -> str:
        """``"importtime=2"`` if any entry is a ``cached`` line, else ``"importtime"``."""
        return "importtime=2" if any(e.cached for e in self.entries) else "importtime"

    def fresh(self) -> list[ImportTimeEntry]:
        """Return the entries that are not ``cached`` lines, in line order."""
        return [e for e in self.entries if not e.cached]

    def self_times(self) -> dict[str, int]:
        """Map module name to ``self_us`` of its first fresh entry."""
        times: dict[str, int] = {}
        for entry in self.entries:
            if entry.self_us is not None:
                times.setdefault(entry.name, entry.self_us)
        return times


@dataclass(frozen=True, slots=True)
class _Row:
    """A timed or ``cached`` line, before parents are assigned.

    ``depth`` is ``None`` for a CPython 3.14 ``cached`` line whose name fills
    its field, so that the text only tells that the level is at most
    ``max_depth``.
    """

    name: str
    self_us: int | None
    cumulative_us: int | None
    cached: bool
    depth: int | None
    max_depth: int = 0


def _columns(line: str) -> tuple[str, str, str] | None:
    """Split ``import time: a | b | c`` into its three raw columns."""
    if not line.startswith(_PREFIX):
        return None
    parts = line[len(_PREFIX) :].split("|", 2)
    if len(parts) != 3:
        return None
    return parts[0], parts[1], parts[2].rstrip()


def _is_header(line: str) -> bool:
    columns = _columns(line)
    return columns is not None and tuple(" ".join(c.split()) for c in columns) == _HEADER_COLUMNS


def _parse_row(line: str) -> _Row | None:
    """Parse a timed or ``cached`` line; ``None`` for anything else."""
    columns = _columns(line)
    if columns is None:
        return None
    first, second, name_column = columns
    name = name_column.lstrip()
    if not name or any(char.isspace() for char in name):
        return None
    indent = len(name_column[: len(name_column) - len(name)].replace("\t", "  "))
    self_text, cumulative_text = first.strip(), second.strip()
    if _INTEGER.fullmatch(self_text) and _INTEGER.fullmatch(cumulative_text):
        return _Row(name, int(self_text), int(cumulative_text), cached=False, depth=indent // 2)
    if self_text != _CACHED or cumulative_text != _CACHED:
        return None
    if len(first) - len(first.lstrip()) >= len(first) - len(first.rstrip()):
        return _Row(name, None, None, cached=True, depth=indent // 2)  # "%9s": indented
    padding = indent - 1  # CPython 3.14: one separator, then the name right-aligned in 2*level
    if padding > 0:
        return _Row(name, None, None, cached=True, depth=(padding + len(name) + 1) // 2)
    return _Row(name, None, None, cached=True, depth=None, max_depth=len(name) // 2)


def is_importtime_line(line: str) -> bool:
    """Tell whether ``line`` is an importtime header, timed line or ``cached`` line.

    A trailing ``"\\n"`` or ``"\\r\\n"`` is ignored.  A line with other text
    before ``import time:`` is not an importtime line (though :func:`parse`
    recovers the importtime part of such a line).
    """
    line = line.rstrip("\r\n")
    return _is_header(line) or _parse_row(line) is not None


class _LogBuilder:
    """Collect one section and assign depths and parents in a single pass.

    Rows waiting for a parent are kept in one list per depth; a fresh row at
    depth ``d`` adopts every row waiting at depth ``d + 1``.  ``cached`` rows
    whose level the text leaves open wait until the next fresh row, whose
    depth plus one bounds their level from above; the level left by the
    previous row bounds it from below.  If the bounds meet, the level is
    known and the row waits for its parent like any other; if not, it takes
    the lower bound as its depth and keeps ``parent=None``.
    """

    def __init__(self) -> None:
        self.other_lines: list[str] = []
        self._rows: list[_Row] = []
        self._depths: list[int] = []
        self._parents: list[int | None] = []
        self._waiting: dict[int, list[int]] = {}  # depth -> indices awaiting a parent
        self._open: list[tuple[int, int]] = []  # (index, lower bound) of undecided cached rows
        self._level = 0  # lowest nesting level possible after the last row

    def add(self, row: _Row) -> None:
        """Append ``row`` and settle what it decides about earlier rows."""
        index = len(self._rows)
        self._rows.append(row)
        self._depths.append(row.depth if row.depth is not None else self._level)
        self._parents.append(None)
        if row.depth is None:
            self._open.append((index, self._level))
            return
        if not row.cached:
            self._settle_open(upper=row.depth + 1)
            for child in self._waiting.pop(row.depth + 1, []):
                self._parents[child] = index
        self._await_parent(index, row.depth)
        self._level = row.depth

    def finish(self) -> ImportTimeLog:
        """Return the section as a log; rows still waiting keep ``parent=None``."""
        self._settle_open(upper=None)
        entries = [
            ImportTimeEntry(row.name, row.self_us, row.cumulative_us, depth, order, parent, row.cached)
            for order, (row, depth, parent) in enumerate(zip(self._rows, self._depths, self._parents, strict=True))
        ]
        return ImportTimeLog(entries, self.other_lines)

    def _await_parent(self, index: int, depth: int) -> None:
        if depth > 0:
            self._waiting.setdefault(depth, []).append(index)

    def _settle_open(self, upper: int | None) -> None:
        for index, lower in self._open:
            highest = self._rows[index].max_depth
            if upper is not None:
                highest = min(highest, upper)
            self._depths[index] = min(lower, highest)
            if lower == highest:
                self._await_parent(index, lower)
        self._open.clear()


def _lines(text: str) -> list[str]:
    """Split on ``\\n`` only, dropping a final empty piece and any ``\\r`` terminators."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def parse(text: str) -> list[ImportTimeLog]:
    """Parse a stderr stream into one :class:`ImportTimeLog` per section.

    A new section (normally one process) starts at each header line; the text
    before the first header forms a section of its own if it has any line,
    with or without importtime lines (the header is missing when output was
    cut).  Every line lands in exactly one section, assigned by position: a
    parent process's output that follows a child's log goes to the child's
    section.  Lines that are not importtime lines, including malformed
    ``import time:`` lines and a truncated last line, go to ``other_lines``.
    A line with other text before ``import time:`` (a message written without
    a newline) is split: the text goes to ``other_lines``, the rest is parsed.

    Parents: an entry at depth ``d`` is a child of the next fresh entry at
    depth ``d - 1``; entries that never get one keep ``parent=None``.

    Returns:
        ``[]`` for empty text; otherwise at least one log.  Text without any
        importtime line gives a single log with no entries.
    """
    logs: list[ImportTimeLog] = []
    section: _LogBuilder | None = None
    for line in _lines(text):
        head, prefix, tail = line.partition(_PREFIX)
        if head and prefix and (_is_header(prefix + tail) or _parse_row(prefix + tail)):
            section = section or _LogBuilder()
            section.other_lines.append(head)
            line = prefix + tail
        if _is_header(line):
            if section is not None:
                logs.append(section.finish())
            section = _LogBuilder()
            continue
        section = section or _LogBuilder()
        row = _parse_row(line)
        if row is None:
            section.other_lines.append(line)
        else:
            section.add(row)
    if section is not None:
        logs.append(section.finish())
    return logs
