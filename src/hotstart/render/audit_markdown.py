"""`hotstart audit` as Markdown sized for a pull-request comment: the classes, the entrypoints
and what fixing would save, the hot spots, and the 20 sites that would save the most."""

from __future__ import annotations

from ..audit.model import AuditReport, ImportSite
from ._format import ms, printable_lines
from .audit import (
    CLASS_HELP,
    hotspot_groups,
    mem,
    relative,
    short_file,
    sites_by_saving,
    split_sites,
)

__all__ = ["render_audit_markdown"]

TOP_SITES = 20
TOP_HOTSPOTS = 10


def render_audit_markdown(report: AuditReport) -> str:
    title = f"`{report.package}`" if report.package else _code(report.root)
    sites = len(report.sites)
    lines = [f"### hotstart audit: {title}", "",
             (f"{sites} import site{'s' if sites != 1 else ''} in {report.files} "
              f"file{'s' if report.files != 1 else ''} (target Python {report.target_version})."),
             "", "| class | sites | meaning |", "|---|---:|---|"]
    for klass, members in report.by_class().items():
        lines.append(_row(klass, str(len(members)), CLASS_HELP.get(klass, "")))

    if report.entries:
        lines += ["", "#### Entrypoints", "",
                  "| entry | import time | peak RSS | fixable saving |", "|---|---:|---:|---|"]
        for entry in report.entries:
            if not entry.measured or entry.import_us is None:
                lines.append(_row(_code(entry.name), "not measured", "-", "-"))
                continue
            saving = "-"
            if entry.fix_us is not None:
                count = entry.fix_sites
                saving = (f"{ms(entry.fix_us)} ms, {mem(entry.fix_rss)} "
                          f"({count} site{'s' if count != 1 else ''})")
            lines.append(_row(_code(entry.name), f"{ms(entry.import_us)} ms",
                              mem(entry.peak_rss), saving))

    groups = hotspot_groups(report)
    if groups:
        lines += ["", "#### Hot spots (expensive calls made at import)", ""]
        for group in groups[:TOP_HOTSPOTS]:
            places = [f"{short_file(s.file)}:{s.line}" for s in group.spots]
            shown = ", ".join(places[:6]) + (f", +{len(places) - 6} more"
                                             if len(places) > 6 else "")
            count = len(group.modules)
            via = f" via `{', '.join(group.via)}`," if group.via else ""
            text = (f"- **`{group.call}()`**{via} called at import by {count} "
                    f"module{'s' if count != 1 else ''} ({shown})")
            timed = group.measured_text()
            if timed:
                text += f"; {timed}"
            if group.first.advice:
                text += f". Fix: {_text(group.first.advice)}"
            lines.append(text)
        if len(groups) > TOP_HOTSPOTS:
            lines.append(f"- … and {len(groups) - TOP_HOTSPOTS} more groups")

    pinning = [(site, advice) for site in report.sites for advice in site.advice]
    if pinning:
        lines += ["", "#### Module-level computations that pin a library", ""]
        for site, advice in pinning[:TOP_HOTSPOTS]:
            where = _code(f"{relative(site.file, report.root)}:{site.line}")
            lines.append(f"- {where} `{site.imported}`: {_text(advice)}")
        if len(pinning) > TOP_HOTSPOTS:
            lines.append(f"- … and {len(pinning) - TOP_HOTSPOTS} more")

    measured = any(entry.measured for entry in report.entries)
    fixable = sites_by_saving(report)
    # Measured: the sites that save something. Static: every fixable site, dead ones first.
    ranked = [site for site in fixable if _saves(site)] if measured else fixable
    if ranked:
        split = split_sites(report)
        lines += ["", "#### Top sites by saving" if measured else "#### Fixable sites", "",
                  "| site | class | statement | saving | fix |", "|---|---|---|---|---|"]
        for site in ranked[:TOP_SITES]:
            statement = _code(site.statement)
            if (site.file, site.line) in split:
                statement += " (" + ", ".join(_code(n.name) for n in site.names) + ")"
            lines.append(_row(_code(f"{relative(site.file, report.root)}:{site.line}"),
                              site.klass, statement, _saving(site), _text(site.fix) or "-"))
    rest = len(fixable) - min(len(ranked), TOP_SITES)
    if rest > 0:
        plural = "s" if rest != 1 else ""
        if not ranked:
            text = f"{rest} fixable site{plural}, none saving anything measurable"
        elif len(ranked) <= TOP_SITES and measured:
            text = f"… and {rest} more fixable site{plural} that save nothing measurable"
        else:
            text = f"… and {rest} more fixable site{plural}"
        lines += ["", text + " (`hotstart audit` lists them all)."]

    if report.errors:
        lines += ["", "#### Errors", ""] + [f"- {_line(error)}" for error in report.errors]
    return printable_lines(lines)


def _saves(site: ImportSite) -> bool:
    best = site.best_saving
    return best is not None and (best.us > 0 or best.rss > 0)


def _saving(site: ImportSite) -> str:
    best = site.best_saving
    if best is None:
        return "-"
    if not _saves(site):
        return "nothing"
    text = f"{ms(best.us)} ms, {mem(best.rss)}"
    if best.used_at_run:
        funcs = ", ".join(_code(name) for name in best.used_at_run[:3])
        more = f" +{len(best.used_at_run) - 3}" if len(best.used_at_run) > 3 else ""
        text += f" (only delayed: {funcs}{more} run{'s' if len(best.used_at_run) == 1 else ''})"
    return text


def _row(*cells: str) -> str:
    return "| " + " | ".join(_cell(cell) for cell in cells) + " |"


def _cell(text: str) -> str:
    """A table cell: pipes escaped (also inside code spans, as GitHub reads them), one line."""
    return _line(text).replace("|", "\\|") or " "


def _text(text: str) -> str:
    """Prose with Markdown's emphasis characters escaped outside `code spans`."""
    parts = _line(text).split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: escape everything
        return _line(text).replace("_", "\\_").replace("*", "\\*")
    return "`".join(part if index % 2 else part.replace("_", "\\_").replace("*", "\\*")
                    for index, part in enumerate(parts))


def _line(text: str) -> str:
    return " ".join(text.split())


def _code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"
