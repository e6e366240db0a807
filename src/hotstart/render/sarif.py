"""`hotstart audit` as SARIF 2.1.0, for code-scanning tools (GitHub code scanning, IDEs).

One result per fixable import site (needed sites are not findings) and one per hot spot.
`partialFingerprints["hotstart/v1"]` is `<file>:<statement>` (plus the names, for a statement
split into several sites), so a result keeps its identity when lines move.
"""

from __future__ import annotations

import json
import os
from pathlib import PurePosixPath, PureWindowsPath
from urllib.parse import quote

from .. import __version__
from ..audit.model import AuditReport, HotSpot, ImportSite
from ._format import ms
from .audit import CLASS_HELP, delay_text, saving_text, split_sites

__all__ = ["RULES", "SARIF_SCHEMA", "render_sarif"]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/hotstart/hotstart"
FINGERPRINT = "hotstart/v1"
WARN_US = 1000.0  # a measured saving of 1 ms or more makes a site a warning

#: rule id -> (name, short description, full description, help)
RULES: dict[str, tuple[str, str, str, str]] = {
    "hotstart/dead": (
        "DeadImport", "Import is never used",
        ("The module-level import binds names that nothing uses, and importing the module has "
        "no side effect the audit knows of."),
        ("Remove the import. It still costs the import of the module (and everything it "
        "imports) every time this module is imported.")),
    "hotstart/side-effect": (
        "SideEffectImport", "Import is unused but importing it does something",
        ("Nothing uses the names this import binds, but importing the module has side effects "
        "(registration, configuration, monkey-patching)."),
        ("Keep the side effect explicit: import the module where the effect is needed, or "
        "document why it must load at import time.")),
    "hotstart/deferrable": (
        "DeferrableImport", "Import is used only inside functions",
        ("Every use of the names this import binds runs after the module is imported (function "
        "bodies, lambdas), so the import can move into those functions."),
        ("Move the import into the functions that use it, or re-export "
        "it lazily from a package __init__ with a module __getattr__.")),
    "hotstart/typing-only": (
        "TypingOnlyImport", "Import is used only in annotations",
        ("The names this import binds appear only in annotations that are never evaluated at "
        "import time."),
        ("Move the import under `if TYPE_CHECKING:` (keep a runtime alias if get_type_hints "
        "must resolve the names).")),
    "hotstart/hot-spot": (
        "ImportTimeHotSpot", "Expensive call made at import time",
        ("A module-level statement calls (directly or through project functions) something "
        "known to be slow, so every import of the module pays for it."),
        ("Make the call lazy (on first use) or replace it with a cheaper equivalent; the "
        "result's message names the fix for this call.")),
}


def render_sarif(report: AuditReport) -> str:
    rule_ids = list(RULES)
    results: list[dict] = []
    fingerprints: dict[str, int] = {}
    split = split_sites(report)
    for site in report.sites:
        if site.klass == "needed":
            continue
        rule = f"hotstart/{site.klass}"
        if rule not in RULES:
            continue
        key = f"{_path(site.file)}:{site.statement}"
        if (site.file, site.line) in split:
            key += ":" + "/".join(name.name for name in site.names)
        results.append(_site_result(site, rule, rule_ids.index(rule),
                                    _unique(key, fingerprints)))
    for spot in report.hotspots:
        key = f"{_path(spot.file)}:{spot.call}" + (f" via {'/'.join(spot.via)}" if spot.via else "")
        results.append(_hotspot_result(spot, rule_ids.index("hotstart/hot-spot"),
                                       _unique(key, fingerprints)))
    rules = [{
        "id": rule_id,
        "name": name,
        "shortDescription": {"text": short},
        "fullDescription": {"text": full},
        "help": {"text": help_text},
        "defaultConfiguration": {"level": "warning" if rule_id in ("hotstart/dead",
                                                                   "hotstart/hot-spot")
                                 else "note"},
        "properties": {"tags": ["performance", "import-time"]},
    } for rule_id, (name, short, full, help_text) in RULES.items()]
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "hotstart",
                "informationUri": INFORMATION_URI,
                "version": __version__,
                "rules": rules,
            }},
            "results": results,
            "properties": {"root": report.root, "package": report.package,
                           "targetVersion": report.target_version},
        }],
    }
    return json.dumps(document, indent=2) + "\n"


def _site_result(site: ImportSite, rule: str, index: int, fingerprint: str) -> dict:
    best = site.best_saving
    level = "warning" if site.klass == "dead" or (best is not None and best.us >= WARN_US) \
        else "note"
    meaning = site.reason or CLASS_HELP.get(site.klass, "")
    parts = [f"`{site.statement}` is {site.klass}" + (f": {meaning}" if meaning else "")]
    if site.effects:
        parts.append("effects: " + "; ".join(site.effects[:3]))
    if site.fix:
        parts.append("fix: " + site.fix)
    if best is not None:
        parts.append(saving_text(best))
        parts.append(delay_text(best))
    properties: dict = {"class": site.klass, "module": site.module, "imported": site.imported,
                        "names": [name.name for name in site.names]}
    if best is not None:
        properties.update(saving_ms=round(best.us / 1e3, 3), saving_bytes=best.rss,
                          saving_entry=best.entry)
        if best.used_at_run:
            properties["used_at_run"] = list(best.used_at_run)
    return {
        "ruleId": rule,
        "ruleIndex": index,
        "level": level,
        "message": {"text": _sentences(parts)},
        "locations": [_location(site.file, site.line, max(site.end_line, site.line))],
        "partialFingerprints": {FINGERPRINT: fingerprint},
        "properties": properties,
    }


def _hotspot_result(spot: HotSpot, index: int, fingerprint: str) -> dict:
    via = f" via {', '.join(spot.via)}" if spot.via else ""
    parts = [f"`{spot.call}()` is called at import{via}"]
    if spot.measured_us is not None:
        calls = f" over {spot.measured_calls} calls" if spot.measured_calls else ""
        entry = f" on {spot.measured_entry}" if spot.measured_entry else ""
        parts.append(f"measured {ms(spot.measured_us)} ms{calls}{entry}")
    if spot.why:
        parts.append(spot.why)
    if spot.advice:
        parts.append("fix: " + spot.advice)
    properties: dict = {"class": "hot-spot", "call": spot.call, "via": list(spot.via),
                        "kind": spot.kind, "module": spot.module}
    if spot.measured_us is not None:
        properties["measured_ms"] = round(spot.measured_us / 1e3, 3)
    return {
        "ruleId": "hotstart/hot-spot",
        "ruleIndex": index,
        "level": "warning",
        "message": {"text": _sentences(parts)},
        "locations": [_location(spot.file, spot.line, spot.line)],
        "partialFingerprints": {FINGERPRINT: fingerprint},
        "properties": properties,
    }


def _sentences(parts: list[str]) -> str:
    return " ".join(part[:1].upper() + part[1:].rstrip(".") + "." for part in parts if part)


def _location(path: str, start: int, end: int) -> dict:
    return {"physicalLocation": {
        "artifactLocation": {"uri": _uri(path)},
        "region": {"startLine": max(start, 1), "endLine": max(end, start, 1)},
    }}


def _path(path: str) -> str:
    return path.replace(os.sep, "/").replace("\\", "/")


def _uri(path: str) -> str:
    """A relative path as a relative URI with `/`; an absolute one as a `file:` URI."""
    if PureWindowsPath(path).is_absolute():
        return PureWindowsPath(path).as_uri()
    if PurePosixPath(path).is_absolute():
        return PurePosixPath(path).as_uri()
    posix = _path(path)
    while posix.startswith("./"):
        posix = posix[2:]
    return quote(posix, safe="/")


def _unique(key: str, seen: dict[str, int]) -> str:
    """`key`, or `key#2`, `key#3`... when an earlier result already has it."""
    seen[key] = seen.get(key, 0) + 1
    return key if seen[key] == 1 else f"{key}#{seen[key]}"
