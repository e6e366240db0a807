"""`hotstart check` as Markdown for a pull-request comment: one table (an entry a row, before
and after when there is a baseline), then a `<details>` block per entry that did not pass,
with the chain that loaded each forbidden or added module and the project's line that did it.

Untrusted text (names, module names, paths, reasons, notes) is made one line by `printable`,
then shown as a code span (names, chains, paths: nothing in one is read as Markdown or HTML)
or escaped as prose (`&`, `<`, `>` as entities; Markdown's punctuation with a backslash; no
`@mention`). Each
table cell escapes its pipes, those inside code spans included, so no text adds a column.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .check import (
    chain_modules,
    counts,
    judgement_sentence,
    num,
    one,
)

if TYPE_CHECKING:
    from ..check.model import CheckReport, EntryResult, Judgement, ModuleFinding

__all__ = ["render_check_markdown"]

HEADER = ("| entry | verdict | modules (before → after) | start-up above floor (before → after) "
          "| RSS | notes |")
VERDICTS = {"pass": "✅ pass", "fail": "❌ **fail**", "inconclusive": "⚠️ inconclusive",
            "skipped": "⏭️ skipped", "error": "❌ **error**"}
MAX_LISTED = 25        # forbidden or added modules listed per entry, then "and N more"
MAX_REMOVED = 20
CHAIN_HEAD, CHAIN_TAIL = 4, 8   # a longer chain keeps its ends
UPDATE_COMMAND = "hotstart check --update"
MAX_CELL = 300         # characters of a name or of the notes in a table cell
MAX_CHARS = 60_000     # GitHub refuses comments over 65,536 characters


def render_check_markdown(report: CheckReport) -> str:
    n = counts(report)
    tally = (f"{n['pass']} passed, {n['fail']} failed, {n['inconclusive']} inconclusive, "
             f"{n['skipped']} skipped"
             + (f", {n['error']} error{'s' if n['error'] != 1 else ''}" if n["error"] else ""))
    facts = [_code(report.config), f"Python {_prose(report.python)}"]
    if report.baseline:
        facts.append(f"baseline {_code(report.baseline)}")
    if not report.timing:
        facts.append("no timing")
    lines = [f"### hotstart check: {_prose(report.verdict)}", "",
             " · ".join(facts) + f": {tally}.", ""]
    if not report.entries:
        lines.append("No entries were checked.")
        return "\n".join(lines) + "\n"
    lines += [HEADER, "|---|---|---:|---|---|---|"]
    size = sum(len(line) + 1 for line in lines)
    for index, entry in enumerate(report.entries):
        row = _row(entry)
        if size + len(row) > MAX_CHARS // 2:
            rest = len(report.entries) - index
            more = f"… and {rest} more entr{'y' if rest == 1 else 'ies'}"
            lines += ["", f"{more}: see the job's log (`hotstart check`)."]
            break
        lines.append(row)
        size += len(row) + 1

    text = "\n".join(lines) + "\n"
    blocks = [_details(entry) for entry in report.entries
              if entry.verdict != "pass" or entry.new_since_baseline]
    blocks = [block for block in blocks if block]
    for index, block in enumerate(blocks):
        if len(text) + len(block) > MAX_CHARS:
            rest = len(blocks) - index
            text += (f"\n… the details of {rest} more entr{'y' if rest == 1 else 'ies'} do not "
                     "fit in a comment: see the job's log (`hotstart check`).\n")
            break
        text += "\n" + block
    return text


# --- the table ---------------------------------------------------------------------------

def _row(entry: EntryResult) -> str:
    ran = entry.verdict not in ("skipped", "error")
    cells = [_code(entry.name, MAX_CELL), VERDICTS.get(entry.verdict, _prose(entry.verdict, 20)),
             _modules(entry) if ran else "-",
             _measure(entry.judgements, "ms") if ran else "-",
             _measure(entry.judgements, "MB") if ran else "-",
             _notes(entry)]
    return "| " + " | ".join(_cell(cell) for cell in cells) + " |"


def _modules(entry: EntryResult) -> str:
    text = str(entry.modules)
    if entry.baseline_modules is not None:
        text = f"{entry.baseline_modules} → {text}"
    if entry.max_modules is not None:
        over = entry.modules > entry.max_modules
        text += f" (max {entry.max_modules})" if not over else f" **> {entry.max_modules}**"
    return text


def _measure(judgements: list[Judgement], unit: str) -> str:
    """The judgements in `unit`: before → after against a baseline, else the value."""
    mine = [j for j in judgements if j.unit == unit]
    parts = []
    for j in sorted(mine, key=lambda j: j.baseline is None):
        if j.baseline is not None:
            after = j.value if j.value is not None else _add(j.baseline, j.median)
            text = (f"{num(j.baseline, '.1f')} → {num(after, '.1f')} {unit} "
                    f"({num(j.median, '+.1f')} [{num(j.low, '+.1f')}, {num(j.high, '+.1f')}], "
                    f"limit {num(j.limit, '+.1f')})")
        else:
            text = (f"{num(j.median, '.1f')} {unit} [{num(j.low, '.1f')}, "
                    f"{num(j.high, '.1f')}], budget {num(j.limit, 'g')}")
        parts.append(text + _mark(j))
    return "; ".join(parts) or "-"


def _add(a: object, b: object) -> object:
    try:
        return a + b  # type: ignore[operator]
    except TypeError:
        return None


def _mark(j: Judgement) -> str:
    if j.verdict == "fail":
        return " **fail**"
    if j.verdict == "inconclusive":
        return " *inconclusive*"
    return ""


def _notes(entry: EntryResult) -> str:
    if entry.verdict in ("skipped", "error"):
        notes = [entry.reason or ("skipped" if entry.verdict == "skipped" else "did not run")]
    elif entry.verdict == "fail":
        notes = entry.failures() or ["failed"]
    else:
        notes = []
    unsure = [j.name for j in entry.judgements if j.verdict == "inconclusive"]
    if unsure:
        notes.append("inconclusive: " + ", ".join(unsure))
    if entry.removed:
        notes.append(f"{len(entry.removed)} fewer than the lock")
    notes += entry.notes
    return _prose("; ".join(one(note) for note in notes), MAX_CELL)


# --- the details -------------------------------------------------------------------------

def _details(entry: EntryResult) -> str:
    items: list[str] = []
    for kind, findings in (("forbidden", entry.forbidden), ("added", entry.added),
                           ("new since the baseline", entry.new_since_baseline)):
        items += [_finding(kind, finding) for finding in findings[:MAX_LISTED]]
        if len(findings) > MAX_LISTED:
            rest = findings[MAX_LISTED:]
            items.append(f"- … and {len(rest)} more {kind}: "
                         + _codes([f.module for f in rest], MAX_REMOVED))
    if entry.removed:
        items.append(f"- removed (an improvement; {_code(UPDATE_COMMAND)} accepts): "
                     f"{_codes(entry.removed, MAX_REMOVED)}")
    items += [f"- {_prose(judgement_sentence(j))}" for j in entry.judgements
              if j.verdict != "pass"]
    items += [f"- note: {_prose(note)}" for note in entry.notes]
    if not items:
        return ""
    if entry.verdict in ("fail", "error"):
        what = entry.failures() or ["failed"]
    elif entry.verdict == "skipped":
        what = [entry.reason or "skipped"]
    else:
        unsure = [j.name for j in entry.judgements if j.verdict == "inconclusive"]
        what = [f"{entry.verdict}: {', '.join(unsure)}" if unsure else entry.verdict]
    summary = f"<code>{_html(one(entry.name))}</code>: {_html('; '.join(map(one, what)))}"
    opened = " open" if entry.verdict in ("fail", "error") else ""
    return "\n".join([f"<details{opened}><summary>{summary}</summary>", "", *items, "",
                      "</details>"]) + "\n"


def _finding(kind: str, finding: ModuleFinding) -> str:
    extra = []
    if finding.rule:
        extra.append(f"rule {_code(finding.rule)}")
    if finding.covers:
        extra.append(f"+{finding.covers} loaded with it")
    text = f"- {kind} {_code(finding.module)}" + (f" ({', '.join(extra)})" if extra else "")
    try:
        origin = finding.origin
    except (AttributeError, TypeError, ValueError):
        origin = None
    if origin is not None:
        text += f", imported at {_code(f'{one(origin[0])}:{origin[1]}')}"
    steps = chain_modules(finding)
    if len(steps) > CHAIN_HEAD + CHAIN_TAIL + 1:
        hidden = len(steps) - CHAIN_HEAD - CHAIN_TAIL
        steps = [*steps[:CHAIN_HEAD], f"… {hidden} more …", *steps[-CHAIN_TAIL:]]
    return text + ": " + _code(" -> ".join(steps))


def _codes(names: list[str], limit: int) -> str:
    shown = ", ".join(_code(name) for name in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


# --- escaping ----------------------------------------------------------------------------

def _code(text: object, limit: int | None = None) -> str:
    """A code span holding `text` (one line, escaped by `printable`, cut at `limit`)
    literally."""
    text = _cut(one(text), limit)
    if not text.strip():
        return "` `" if not text else f"`{text}`"
    if "`" not in text:
        return f"`{text}`"
    longest = run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    return f"{fence} {text} {fence}"


#: Escaped with a backslash in prose; `@` gets a zero-width space (no @mention).
_MARKDOWN = str.maketrans({char: "\\" + char for char in "\\`*_[]~#"})


def _prose(text: object, limit: int | None = None) -> str:
    """Untrusted text as literal Markdown prose (no emphasis, link, code or HTML), cut at
    `limit` characters before escaping."""
    text = _html(_cut(" ".join(one(text).split()), limit)).translate(_MARKDOWN)
    return text.replace("@", "@\u200b")  # `@lru_cache` in a traceback pings no one


def _cut(text: str, limit: int | None) -> str:
    return text if limit is None or len(text) <= limit else text[:limit - 1] + "…"


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cell(text: str) -> str:
    """A table cell: each pipe escaped (inside code spans too, as GitHub reads tables), after
    an odd number of backslashes whatever came before it, so every reader keeps the column."""
    out = []
    run = 0
    for char in text:
        if char == "|":
            out.append("\\" * (run + 1) + "|")
            run = 0
        else:
            out.append(char)
            run = run + 1 if char == "\\" else 0
    return "".join(out) or " "
