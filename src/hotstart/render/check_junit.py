"""`hotstart check` as JUnit XML, for CI systems that show test reports.

One `<testcase classname="hotstart.check.<entry>" name="<check>">` per check of an entry:
`forbidden` (always), `lock` (when the entry has one), `max-modules` (when set), and one per
judgement (`time`, `rss`, `time vs baseline`, ...). A failed check holds a `<failure>` whose
text lists the chains; a skipped entry is one `run` testcase with `<skipped>`, an entry that
did not run one `run` testcase with `<error>`. An inconclusive judgement passes (as the exit
code does) and says so in its `<system-out>`.

Untrusted text goes through `printable`, then loses whatever XML 1.0 cannot hold.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from .check import chain_modules, finding_label, judgement_sentence, name_list, one

if TYPE_CHECKING:
    from ..check.model import CheckReport, EntryResult, ModuleFinding

__all__ = ["render_check_junit", "xml_text"]

SUITE = "hotstart check"

#: (check name, outcome, message, text, system-out); outcome: "", failure, error or skipped
Case = tuple[str, str, str, str, str]


def render_check_junit(report: CheckReport) -> str:
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    cases: list[ET.Element] = []
    for entry in report.entries:
        classname = f"hotstart.check.{one(entry.name)}"
        for name, outcome, message, text, out in _cases(entry):
            case = ET.Element("testcase", classname=xml_text(classname), name=xml_text(name))
            totals["tests"] += 1
            if outcome:
                totals[{"failure": "failures", "error": "errors"}.get(outcome, outcome)] += 1
                child = ET.SubElement(case, outcome, message=xml_text(message))
                if outcome != "skipped":
                    child.set("type", xml_text(name))
                if text:
                    child.text = xml_text(text)
            if out:
                ET.SubElement(case, "system-out").text = xml_text(out)
            cases.append(case)
    counts = {key: str(value) for key, value in totals.items()}
    root = ET.Element("testsuites", name=SUITE, **counts)
    suite = ET.SubElement(root, "testsuite", name=SUITE, **counts)
    properties = ET.SubElement(suite, "properties")
    for key, value in (("config", report.config), ("python", report.python),
                       ("baseline", report.baseline), ("verdict", report.verdict)):
        if value is not None:
            ET.SubElement(properties, "property", name=key, value=xml_text(one(value)))
    suite.extend(cases)
    ET.indent(root)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            + ET.tostring(root, encoding="unicode") + "\n")


def _cases(entry: EntryResult) -> list[Case]:
    notes = "\n".join(f"note: {one(note)}" for note in entry.notes)
    if entry.verdict == "error":
        return [("run", "error", one(entry.reason or "did not run"), notes, "")]
    if entry.verdict == "skipped":
        return [("run", "skipped", one(entry.reason or "skipped"), "", notes)]
    cases: list[Case] = []
    if entry.forbidden:
        cases.append(("forbidden", "failure",
                      "forbidden " + name_list([f.module for f in entry.forbidden]),
                      _findings(entry.forbidden), ""))
    else:
        cases.append(("forbidden", "", "", "", ""))
    if entry.lock != "off":
        removed = (f"removed (an improvement; hotstart check --update accepts): "
                   f"{name_list(entry.removed, len(entry.removed))}" if entry.removed else "")
        if entry.lock == "missing":
            cases.append(("lock", "failure", f"no lock for Python {one(entry.python)}", "",
                          removed))
        elif entry.lock == "changed" and entry.added:
            count = len(entry.added)
            cases.append(("lock", "failure",
                          f"{count} module{'s' if count != 1 else ''} not in the lock",
                          _findings(entry.added), removed))
        else:
            cases.append(("lock", "", "", "", f"lock {one(entry.lock)}\n{removed}".strip()))
    if entry.max_modules is not None:
        over = entry.modules > entry.max_modules
        cases.append(("max-modules", "failure" if over else "",
                      f"{entry.modules} modules > {entry.max_modules}" if over else "", "",
                      f"{entry.modules} modules, max-modules {entry.max_modules}"))
    for judgement in entry.judgements:
        sentence = judgement_sentence(judgement)
        failed = judgement.verdict == "fail"
        cases.append((one(judgement.name), "failure" if failed else "",
                      sentence if failed else "", "", sentence))
    if entry.verdict == "fail" and not any(case[1] for case in cases):
        reasons = "; ".join(one(failure) for failure in entry.failures()) or "failed"
        cases.append(("verdict", "failure", reasons, "", ""))
    if notes:
        name, outcome, message, text, out = cases[0]
        cases[0] = (name, outcome, message, text, f"{out}\n{notes}".strip())
    return cases


def _findings(findings: list[ModuleFinding]) -> str:
    lines = []
    for finding in findings:
        lines.append(f"{finding_label(finding)}: {' -> '.join(chain_modules(finding))}")
        try:
            origin = finding.origin
        except (AttributeError, TypeError, ValueError):
            origin = None
        if origin is not None:
            lines.append(f"  imported at {one(origin[0])}:{origin[1]}")
    return "\n".join(lines)


def xml_text(text: str) -> str:
    """`text` without the characters XML 1.0 cannot hold (most C0 controls, lone surrogates,
    U+FFFE and U+FFFF)."""
    return "".join(char for char in text
                   if char in "\t\n\r" or " " <= char <= "\ud7ff" or "\ue000" <= char <= "\ufffd"
                   or char >= "\U00010000")
