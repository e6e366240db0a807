"""`hotstart check` as text: a header, one summary line per entry, the details under the
entries that need them (the chain that loaded each forbidden or added module, the judgements),
and a last line with the verdict.

    hotstart check: pyproject.toml · Python 3.11.7 · 3 entries
    PASS  import    312 modules, lock ok, time 41.2 ms [39.8, 43.0] <= 150 ms
    FAIL  cli-help  forbidden pandas; time over its limit
          forbidden pandas (rule 'pandas', +250 loaded with it): pkg.cli -> pkg.data -> pandas
            imported at src/pkg/data.py:3
          time: 212.0 ms above the floor [205.1, 219.3], budget 150 ms: fail
    SKIP  legacy    python-versions <3.11

    fail: 1 passed, 1 failed, 0 inconclusive, 1 skipped

Everything the project wrote (names, module names, sites, reasons, notes) goes through
`printable`, one field at a time, so no field can break a line or drive the terminal. The
helpers below are shared with the GitHub, Markdown and JUnit renderers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._text import printable

if TYPE_CHECKING:
    from ..check.model import CheckReport, EntryResult, Judgement, ModuleFinding

__all__ = [
    "LABELS",
    "chain_modules",
    "counts",
    "finding_label",
    "judgement_facts",
    "judgement_sentence",
    "name_list",
    "num",
    "one",
    "render_check_text",
    "summary_line",
]

WIDTH = 100
NAME_WIDTH = 24           # names are padded to the longest, up to this
MAX_REMOVED = 10          # removed modules named on the line, then "and N more"
MAX_ADDED = 20            # added modules listed with their chains (all of them with verbose)
INDENT = " " * 6          # detail lines, under the entry's name
MORE = " " * 10           # continuation of a wrapped detail line

LABELS = {"pass": "PASS", "fail": "FAIL", "inconclusive": "WARN", "skipped": "SKIP",
          "error": "ERROR"}
UPDATE_HINT = "hotstart check --update accepts"


def render_check_text(report: CheckReport, *, verbose: bool = False) -> str:
    entries = list(report.entries)
    header = (f"hotstart check: {one(report.config)} · Python {one(report.python)} · "
              f"{_plural(len(entries), 'entry', 'entries')}")
    if report.baseline:
        header += f" · baseline {one(report.baseline)}"
    if not report.timing:
        header += " · no timing"
    lines = [header]
    width = min(max((len(one(entry.name)) for entry in entries), default=0), NAME_WIDTH)
    for entry in entries:
        lines += _entry_lines(entry, width, verbose)
    lines += ["", summary_line(report)]
    return "\n".join(lines) + "\n"


def summary_line(report: CheckReport) -> str:
    """`fail: 2 passed, 1 failed, 0 inconclusive, 1 skipped` (`, 1 error` when any)."""
    n = counts(report)
    text = (f"{one(report.verdict)}: {n['pass']} passed, {n['fail']} failed, "
            f"{n['inconclusive']} inconclusive, {n['skipped']} skipped")
    if n["error"]:
        text += f", {_plural(n['error'], 'error')}"
    return text


def counts(report: CheckReport) -> dict[str, int]:
    """Entries per verdict (the five verdicts, each present)."""
    out = dict.fromkeys(LABELS, 0)
    for entry in report.entries:
        if entry.verdict in out:
            out[entry.verdict] += 1
    return out


# --- the entry ---------------------------------------------------------------------------

def _entry_lines(entry: EntryResult, width: int, verbose: bool) -> list[str]:
    label = LABELS.get(entry.verdict) or one(entry.verdict).upper()[:5] or "?"
    head = f"{label:<5} {one(entry.name):<{width}}  "
    parts, sep = _facts(entry)
    lines = [(head + sep.join(parts)).rstrip()]  # one line, whatever its length: grep finds it
    full = verbose or entry.verdict != "pass"
    if full:
        for finding in entry.forbidden:
            lines += _finding_lines("forbidden", finding)
        added = entry.added if verbose else entry.added[:MAX_ADDED]
        for finding in added:
            lines += _finding_lines("added", finding)
        if len(added) < len(entry.added):
            rest = entry.added[len(added):]
            lines += _wrap(f"{INDENT}and {len(rest)} more added (all with verbose output): ",
                           [one(f.module) for f in rest[:MAX_REMOVED]], ", ", MORE,
                           more=len(rest) - MAX_REMOVED)
    if entry.new_since_baseline:
        new = entry.new_since_baseline
        lines += _wrap(f"{INDENT}new since the baseline: ",
                       [finding_label(f) for f in new[:MAX_REMOVED]], ", ", MORE,
                       more=len(new) - MAX_REMOVED)
        if full:
            for finding in new[:MAX_ADDED]:
                lines += _finding_lines("new", finding)
    if entry.removed:
        lines += _wrap(f"{INDENT}removed (an improvement; {UPDATE_HINT}): ",
                       [one(name) for name in entry.removed[:MAX_REMOVED]], ", ", MORE,
                       more=len(entry.removed) - MAX_REMOVED)
    if full:
        lines += [INDENT + judgement_sentence(j) for j in entry.judgements]
        lines += [f"{INDENT}note: {one(note)}" for note in entry.notes]
    return lines


def _facts(entry: EntryResult) -> tuple[list[str], str]:
    """The summary line's facts, and what joins them."""
    if entry.verdict == "error":
        return [one(entry.reason or "did not run")], "; "
    if entry.verdict == "skipped":
        return [one(entry.reason or "skipped")], "; "
    if entry.verdict == "fail":
        return [one(failure) for failure in entry.failures()] or ["failed"], "; "
    if entry.verdict == "inconclusive":
        unsure = [judgement_facts(j) for j in entry.judgements if j.verdict == "inconclusive"]
        if unsure:
            unsure[0] = "inconclusive: " + unsure[0]
        return unsure or ["inconclusive"], "; "
    facts = [_modules_fact(entry)]
    if entry.lock == "changed" and not entry.added:
        facts.append(f"lock: {len(entry.removed)} removed")
    elif entry.lock != "off":
        facts.append(f"lock {one(entry.lock)}")
    facts += [judgement_facts(j) for j in entry.judgements]
    return facts, ", "


def _modules_fact(entry: EntryResult) -> str:
    text = _plural(entry.modules, "module")
    if entry.max_modules is not None:
        text += f" <= {entry.max_modules}"
    if entry.baseline_modules is not None:
        text += f" (baseline {entry.baseline_modules})"
    return text


def _finding_lines(kind: str, finding: ModuleFinding) -> list[str]:
    lines = _wrap(f"{INDENT}{kind} {finding_label(finding)}: ", chain_modules(finding), " -> ",
                  MORE)
    origin = _origin(finding)
    if origin:
        lines.append(f"{INDENT}  imported at {origin}")
    return lines


def _origin(finding: ModuleFinding) -> str | None:
    try:
        origin = finding.origin
    except (AttributeError, TypeError, ValueError):  # a site that is not text
        return None
    return None if origin is None else f"{one(origin[0])}:{origin[1]}"


# --- shared with the other check renderers -------------------------------------------------

def one(text: object) -> str:
    """Untrusted text as one safe line (`None` as nothing)."""
    return "" if text is None else printable(text)


def finding_label(finding: ModuleFinding) -> str:
    """`pandas (rule 'pandas', +250 loaded with it)`, escaped."""
    extra = []
    if finding.rule:
        extra.append(f"rule '{one(finding.rule)}'")
    if finding.covers:
        extra.append(f"+{finding.covers} loaded with it")
    return one(finding.module) + (f" ({', '.join(extra)})" if extra else "")


def chain_modules(finding: ModuleFinding) -> list[str]:
    """The chain's modules, escaped (just the module when there is no chain)."""
    steps = [one(getattr(step, "module", step)) for step in finding.chain or ()]
    return steps or [one(finding.module)]


def name_list(names: list[str], limit: int = MAX_REMOVED) -> str:
    """`a, b, c` or, past `limit`, `a, ..., j and 5 more` (names escaped)."""
    shown = ", ".join(one(name) for name in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def judgement_facts(j: Judgement) -> str:
    """`time 41.2 ms [39.8, 43.0] <= 150 ms` (`vs` when inconclusive, `>` when failed)."""
    op = {"pass": "<=", "fail": ">"}.get(j.verdict, "vs")
    unit = one(j.unit)
    if j.baseline is not None:
        return (f"{one(j.name)} {num(j.median, '+.1f')} {unit} [{num(j.low, '+.1f')}, "
                f"{num(j.high, '+.1f')}] {op} {num(j.limit, '+.1f')} {unit}")
    return (f"{one(j.name)} {num(j.median, '.1f')} {unit} [{num(j.low, '.1f')}, "
            f"{num(j.high, '.1f')}] {op} {num(j.limit, 'g')} {unit}")


def judgement_sentence(j: Judgement) -> str:
    """`Judgement.sentence()`, escaped, and never an exception on odd numbers."""
    try:
        return one(j.sentence())
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return f"{one(j.name)}: {judgement_facts(j)}: {one(j.verdict)}"


def num(value: object, spec: str) -> str:
    try:
        return format(value, spec)
    except (TypeError, ValueError):
        return one(value) or "?"


def _plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n} {word if n == 1 else (words or word + 's')}"


def _wrap(first: str, parts: list[str], sep: str, indent: str, more: int = 0) -> list[str]:
    """`first` then `parts` joined by `sep`, broken after a separator to stay within WIDTH;
    `more` > 0 ends it with `and N more`."""
    pieces = [part + sep for part in parts[:-1]] + parts[-1:]
    if more > 0:
        pieces.append(f" and {more} more" if pieces else f"and {more} more")
    lines, line = [], first
    for piece in pieces:
        if len(line) > len(indent) and len(line) + len(piece.rstrip()) > WIDTH:
            lines.append(line.rstrip())
            line = indent + piece.lstrip()
        else:
            line += piece
    lines.append(line.rstrip())
    return lines
