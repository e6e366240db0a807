"""`hotstart check` as GitHub Actions workflow commands: an annotation per finding, on the
project's import line that added the module when the chain names one.

    ::error file=src/pkg/data.py,line=3,title=hotstart check cli-help::cli-help: forbidden ...
    ::warning title=hotstart check import::time: 148.0 ms above the floor [...]: inconclusive
    ::notice title=hotstart check import::import: 3 modules fewer than the lock: ...
    fail: 1 passed, 1 failed, 1 inconclusive, 0 skipped

Untrusted text is made one safe line by `printable` first (an ESC, a newline in a module
name become `\\x1b`, `\\n`), then escaped as GitHub reads workflow commands: `%`, CR and LF
in the message; also `:` and `,` in property values. The only line breaks in a message are
hotstart's own (`%0A`), which the annotation shows as line breaks.

`file=` is the path relative to the repository's root (the project's `origin` joined to
`CheckReport.prefix`, the project's directory inside its repository), as GitHub resolves it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .check import (
    UPDATE_HINT,
    chain_modules,
    finding_label,
    judgement_sentence,
    name_list,
    one,
    summary_line,
)

if TYPE_CHECKING:
    from ..check.model import CheckReport, EntryResult, ModuleFinding

__all__ = ["escape_data", "escape_property", "render_check_github"]

#: Annotations per kind (forbidden, added) and entry; GitHub shows only the first few anyway.
MAX_ANNOTATIONS = 10


def render_check_github(report: CheckReport) -> str:
    lines: list[str] = []
    for entry in report.entries:
        lines += _entry_commands(entry, report.prefix)
    lines.append(summary_line(report))
    return "\n".join(lines) + "\n"


def _entry_commands(entry: EntryResult, prefix: str = "") -> list[str]:
    name = one(entry.name)
    title = f"hotstart check {name}"
    out: list[str] = []
    if entry.verdict == "error":
        message = f"{name}: did not run" + (f": {one(entry.reason)}" if entry.reason else "")
        out.append(_command("error", title, "\n".join([message, *map(one, entry.notes)])))
        return out
    if entry.verdict == "skipped":
        return out
    failed = 0
    for kind, findings in (("forbidden", entry.forbidden), ("added", entry.added)):
        for finding in findings[:MAX_ANNOTATIONS]:
            out.append(_finding_command(name, title, kind, finding, prefix))
            failed += 1
        rest = findings[MAX_ANNOTATIONS:]
        if rest:
            what = "forbidden modules" if kind == "forbidden" else "modules not in the lock"
            out.append(_command("error", title, f"{name}: {len(rest)} more {what}: "
                                                f"{name_list([f.module for f in rest])}"))
    if entry.lock == "missing":
        out.append(_command("error", title, f"{name}: no lock for Python {one(entry.python)}"))
        failed += 1
    if entry.max_modules is not None and entry.modules > entry.max_modules:
        out.append(_command("error", title, f"{name}: {entry.modules} modules, more than "
                                            f"max-modules {entry.max_modules}"))
        failed += 1
    for judgement in entry.judgements:
        if judgement.verdict == "fail":
            out.append(_command("error", title, f"{name}: {judgement_sentence(judgement)}"))
            failed += 1
        elif judgement.verdict == "inconclusive":
            out.append(_command("warning", title, f"{name}: {judgement_sentence(judgement)}"))
    if entry.verdict == "fail" and not failed:  # failed on something not itemized above
        reasons = "; ".join(one(failure) for failure in entry.failures()) or "failed"
        out.append(_command("error", title, f"{name}: {reasons}"))
    if entry.removed:
        count = len(entry.removed)
        out.append(_command("notice", title, (
            f"{name}: {count} module{'s' if count != 1 else ''} fewer than the lock: "
            f"{name_list(entry.removed)} ({UPDATE_HINT})")))
    return out


def _finding_command(name: str, title: str, kind: str, finding: ModuleFinding,
                     prefix: str = "") -> str:
    if kind == "forbidden":
        message = f"{name}: forbidden module {finding_label(finding)}"
    else:
        message = (f"{name}: {finding_label(finding)} added, not in the lock "
                   f"(if intended, {UPDATE_HINT})")
    message += "\nimport chain: " + " -> ".join(chain_modules(finding))
    try:
        origin = finding.origin
    except (AttributeError, TypeError, ValueError):
        origin = None
    if origin is None:
        return _command("error", title, message)
    return _command("error", title, message, file=one(prefix + origin[0]), line=origin[1])


def _command(kind: str, title: str, message: str, *, file: str | None = None,
             line: int | None = None) -> str:
    props = []
    if file:
        props.append(f"file={escape_property(file)}")
        if line is not None:
            props.append(f"line={int(line)}")
    props.append(f"title={escape_property(title)}")
    return f"::{kind} {','.join(props)}::{escape_data(message)}"


def escape_data(text: str) -> str:
    """A workflow command's message: `%`, CR and LF escaped."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: as the message, and `:` and `,` too."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")
