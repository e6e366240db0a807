"""`hotstart audit` as plain text: the classes, what each entrypoint reaches and what fixing
would save, the import-time hot spots, and every import site, file by file, biggest saving first.

The helpers below (`hotspot_groups`, `file_order`, `site_order`, `saving_text`, ...) are shared
with the Markdown and SARIF renderers (`audit_markdown.py`, `sarif.py`).
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass, field

from ..audit.model import CLASSES, AuditReport, Entry, HotSpot, ImportSite, Link, Saving
from ._format import ms, printable_lines, size

__all__ = ["CLASS_HELP", "HotSpotGroup", "hotspot_groups", "render_audit"]

WIDTH = 100
DETAIL = " " * 8  # detail lines of a site line up under its class column

#: What each class means, in a few words (the text header, the SARIF rules).
CLASS_HELP = {
    "dead": "imported but never used",
    "side-effect": "unused, but importing it does something",
    "deferrable": "used only inside functions: can move into them",
    "typing-only": "used only in annotations: can move under TYPE_CHECKING",
    "needed": "used while the module is imported",
}


@dataclass(slots=True)
class HotSpotGroup:
    """The hot spots that make the same expensive call through the same project functions
    (`inspect.stack` via `jobrunner.log.get_logger`), from however many modules."""

    call: str
    via: tuple[str, ...]
    spots: list[HotSpot] = field(default_factory=list)

    @property
    def modules(self) -> list[str]:
        return list(dict.fromkeys(spot.module for spot in self.spots))

    @property
    def measured(self) -> HotSpot | None:
        """The member with the largest measured time (they share one profile figure)."""
        timed = [spot for spot in self.spots if spot.measured_us is not None]
        return max(timed, key=lambda s: s.measured_us or 0.0, default=None)

    @property
    def first(self) -> HotSpot:
        return self.spots[0]

    def title(self) -> str:
        count = len(self.modules)
        via = f" via {', '.join(self.via)}," if self.via else ""
        return (f"{self.call}(){via} called at import by {count} "
                f"module{'s' if count != 1 else ''}")

    def measured_text(self) -> str:
        spot = self.measured
        if spot is None:
            return ""
        calls = spot.measured_calls
        text = f"measured {ms(spot.measured_us)} ms"
        if calls:
            text += f" over {calls} call{'s' if calls != 1 else ''}"
        if spot.measured_entry:
            text += f" on {spot.measured_entry}"
        return text


def hotspot_groups(report: AuditReport) -> list[HotSpotGroup]:
    """Hot spots grouped by (call, via): measured time first, then how many modules."""
    groups: dict[tuple[str, tuple[str, ...]], HotSpotGroup] = {}
    for spot in report.hotspots:
        key = (spot.call, tuple(spot.via))
        groups.setdefault(key, HotSpotGroup(spot.call, key[1])).spots.append(spot)
    for group in groups.values():
        group.spots.sort(key=lambda s: (s.file, s.line))
    return sorted(groups.values(), key=lambda g: (
        -((g.measured.measured_us or 0.0) if g.measured else 0.0), -len(g.modules), g.call, g.via))


def render_audit(report: AuditReport, *, min_saving_ms: float = 0.0,
                 show_needed: bool = True) -> str:
    """The whole audit as text. Needed sites are listed only with `show_needed`; with
    `min_saving_ms` (and a measured entry) sites saving less are only counted, per file."""
    lines = _header(report)
    for entry in report.entries:
        lines += [""] + _entry(entry)
    if not report.entries:
        lines += ["", "No entrypoint: what each site would save is not measured."]
    groups = hotspot_groups(report)
    if groups:
        lines += ["", (f"Hot spots (expensive calls made at import): {len(report.hotspots)} "
                       f"in {len(groups)} group{'s' if len(groups) != 1 else ''}")]
        for group in groups:
            lines += _hotspot(group)
    lines += _sites(report, min_saving_ms=min_saving_ms, show_needed=show_needed)
    if report.notes:
        lines += ["", "Notes"] + [_wrapped(note, "  - ", "    ") for note in report.notes]
    if report.errors:
        lines += ["", "Errors"] + [_wrapped(error, "  - ", "    ") for error in report.errors]
    return printable_lines(lines)


# -- sections ---------------------------------------------------------------------------------

def _header(report: AuditReport) -> list[str]:
    package = f" (package {report.package})" if report.package else ""
    files, sites = report.files, len(report.sites)
    lines = [f"hotstart audit: {report.root}{package}",
             (f"  {files} file{'s' if files != 1 else ''} scanned in {report.seconds:.1f} s; "
              f"target Python {report.target_version}; "
              f"{sites} import site{'s' if sites != 1 else ''}")]
    for klass, members in report.by_class().items():
        help_text = CLASS_HELP.get(klass, "")
        lines.append(f"  {klass:<12} {len(members):>4}   {help_text}".rstrip())
    return lines


def _entry(entry: Entry) -> list[str]:
    lines = [f"Entry: {entry.name}"]
    if entry.measured:
        parts = [f"imports in {ms(entry.import_us)} ms"]
        if entry.peak_rss is not None:
            parts.append(f"peak RSS {mem(entry.peak_rss)}")
        if entry.profile:
            parts.append(f"from {entry.profile}")
        lines.append(_wrapped("measured: " + "; ".join(parts), "  ", "    "))
        if entry.bytecode:
            lines.append(_wrapped(f"bytecode: {entry.bytecode}", "  ", "    "))
    else:
        lines.append("  not measured (what it reaches is static)")
    count = entry.first_party
    lines.append(f"  reaches {count} project module{'s' if count != 1 else ''} at module level")
    reach = sorted(entry.reach, key=lambda r: (r.us is None, -(r.us or 0.0), r.library))
    if reach:
        lines.append("  libraries it imports at module level:")
        width = max(len(r.library) for r in reach)
        for item in reach:
            figures = (f"  {ms(item.us):>7} ms  {mem(item.rss):>9}" if item.us is not None
                       else "")
            head = f"    {item.library:<{width}}{figures}  via "
            lines += _chain_lines(head, item.chain)
    if entry.measured and entry.fix_us is not None:
        count = entry.fix_sites
        memory = f", {mem(entry.fix_rss)}" if entry.fix_rss is not None else ""
        lines.append(f"  fixing all {count} fixable site{'s' if count != 1 else ''} saves "
                     f"{ms(entry.fix_us)} ms{memory}")
    return lines


def _hotspot(group: HotSpotGroup) -> list[str]:
    places = [f"{short_file(spot.file)}:{spot.line}" for spot in group.spots]
    shown = ", ".join(places[:6]) + (f", +{len(places) - 6} more" if len(places) > 6 else "")
    lines = [""] + _fill(f"  {group.title()} ({shown})", "      ")
    measured = group.measured_text()
    if measured:
        lines.append("    " + measured)
    first = group.first
    if first.why:
        lines.append(_wrapped(first.why, "    ", "    "))
    if first.advice:
        lines.append(_wrapped("fix: " + first.advice, "    ", "         "))
    return lines


def _sites(report: AuditReport, *, min_saving_ms: float, show_needed: bool) -> list[str]:
    if not report.sites:
        return ["", "Import sites: none found"]
    measured = any(entry.measured for entry in report.entries)
    cut = min_saving_ms * 1e3 if (min_saving_ms > 0 and measured) else None
    files: dict[str, list[ImportSite]] = {}
    for site in report.sites:
        files.setdefault(site.file, []).append(site)
    split = split_sites(report)
    hidden_needed = 0
    body: list[str] = []
    for path in file_order(files):
        sites = site_order(files[path])
        if not show_needed:
            hidden_needed += sum(site.klass == "needed" for site in sites)
            sites = [site for site in sites if site.klass != "needed"]
        if not sites:
            continue
        small = [site for site in sites if cut is not None and best_us(site) < cut]
        shown = [site for site in sites if site not in small]
        module = sites[0].module
        body += ["", f"{relative(path, report.root)}  ({module})"]
        for site in shown:
            body += _site(site, split)
        if small:
            body.append(f"  +{len(small)} site{'s' if len(small) != 1 else ''} saving "
                        f"< {min_saving_ms:g} ms")
    title = "Import sites, by file (biggest saving first)"
    if hidden_needed:
        title += f"; {hidden_needed} needed site{'s' if hidden_needed != 1 else ''} not shown"
    return ["", title] + body


def _site(site: ImportSite, split: set[tuple[str, int]]) -> list[str]:
    tags = []
    if (site.file, site.line) in split:
        tags.append(", ".join(name.name for name in site.names))
    if site.guard:
        tags.append(GUARDS.get(site.guard, site.guard))
    suffix = f"  [{'; '.join(tags)}]" if tags else ""
    head = f"  L{site.line:<5}{site.klass:<13}"
    saving = saving_text(site.best_saving)
    one = head + site.statement + suffix + ("   " + saving if saving else "")
    if len(one) <= WIDTH:
        lines = [one]
    else:
        lines = [head + clip(site.statement, WIDTH - len(head) - len(suffix)) + suffix]
        if saving:
            lines.append(DETAIL + saving_text(site.best_saving, WIDTH - len(DETAIL)))
    delay = delay_text(site.best_saving)
    if delay:
        lines.append(_wrapped(delay, DETAIL, DETAIL + "  "))
    if site.klass == "needed" and site.pins:
        if site.reason and site.reason not in site.pins:
            lines.append(_wrapped(site.reason, DETAIL, DETAIL))
        lines.append(_wrapped("pinned by: " + "; ".join(site.pins), DETAIL, DETAIL + "  "))
        lines.extend(_wrapped("rewrite by hand: " + advice, DETAIL, DETAIL + "  ")
                     for advice in site.advice)
    elif site.reason:
        lines.append(_wrapped(site.reason, DETAIL, DETAIL))
    if site.effects:
        more = f" (+{len(site.effects) - 3} more)" if len(site.effects) > 3 else ""
        lines.append(_wrapped("effects: " + "; ".join(site.effects[:3]) + more, DETAIL,
                              DETAIL + "  "))
    if site.fix:
        lines.append(_wrapped("fix: " + site.fix, DETAIL, DETAIL + "     "))
    lines.extend(_wrapped(text, DETAIL, DETAIL + "  ") for text in trial_lines(site))
    return lines


def trial_lines(site: ImportSite) -> list[str]:
    """The run-time evidence of the lazy trial on each entry, one line each: what the path
    did with the site's module, and, for a candidate, that the static rule decided its class
    and the trial changes nothing (`audit --trial`)."""
    lines = []
    for evidence in site.trial:
        head = f"run-time (trial on {evidence.entry}): "
        where = evidence.where
        if evidence.status == "used":
            text = "used on the path" + (f", first at {where}" if where else "")
        elif evidence.status == "imported":
            text = "loaded on the path by an eager import (not through a deferred binding)"
        elif evidence.status == "eager":
            text = "loaded on the path, not deferred (loaded before, or kept eager)"
        elif evidence.candidate:
            text = (f"never used on the path{f' (import deferred at {where})' if where else ''}"
                    f": a candidate; its class ({site.klass}) is the static rule's, and the "
                    f"trial changes nothing (report only)")
        else:
            text = "never used on the path" + (f" (import deferred at {where})" if where else "")
        lines.append(head + text)
    return lines


GUARDS = {"try": "in try/except ImportError", "if": "under if", "TYPE_CHECKING":
          "under TYPE_CHECKING", "lazy": "lazy import"}


# -- shared helpers ---------------------------------------------------------------------------

def mem(nbytes: float | None) -> str:
    """Bytes as `52.9 MiB` / `512 KiB` (the figures of `_format.size`, with binary units)."""
    if nbytes is None:
        return "-"
    text = size(nbytes)
    return f"{text[:-1]} {text[-1]}iB"


def best_us(site: ImportSite) -> float:
    best = site.best_saving
    return best.us if best is not None else 0.0


def saving_text(saving: Saving | None, width: int | None = None) -> str:
    """`saves 230.4 ms, 52.0 MiB (470 modules: pandas, numpy, ...) on ENTRY`, or
    `saves nothing: also imported by a, b`; "" when not measured. With `width`, the module
    list is shortened to fit."""
    if saving is None:
        return ""
    if saving.us <= 0 and saving.rss <= 0:
        modules = [name for name in saving.also_imported_by if " " not in name]
        reasons = [text for text in saving.also_imported_by if " " in text]
        keeps = [min(4, len(modules))] if width is None else range(len(modules), -1, -1)
        for keep in keeps:
            parts = list(reasons)
            if keep:
                more = f", +{len(modules) - keep} more" if keep < len(modules) else ""
                parts.insert(0, "also imported by " + ", ".join(modules[:keep]) + more)
            text = "saves nothing" + (": " + "; ".join(parts) if parts else "")
            if width is None or len(text) <= width or not keep:
                return text
    text = f"saves {ms(saving.us)} ms, {mem(saving.rss)}"
    tail = f" on {saving.entry}" if saving.entry else ""
    count = max(saving.dropped, len(saving.modules))
    if not count:
        return text + tail
    label = f"{count} module{'s' if count != 1 else ''}"
    names = list(saving.modules)
    keeps = [min(3, len(names))] if width is None else range(len(names), 0, -1)
    for keep in keeps:
        more = ", ..." if keep < count else ""
        detail = f" ({label}: {', '.join(names[:keep])}{more})" if keep else f" ({label})"
        if width is None or len(text + detail + tail) <= width:
            return text + detail + tail
    return text + f" ({label})" + tail


def delay_text(saving: Saving | None) -> str:
    """When the entry runs a function that uses the name, deferring only delays the import:
    `but -m app run runs main(): deferring only delays the import` ("" otherwise)."""
    if saving is None or not saving.used_at_run or (saving.us <= 0 and saving.rss <= 0):
        return ""
    funcs = saving.used_at_run
    shown = ", ".join(funcs[:4]) + (f" and {len(funcs) - 4} more" if len(funcs) > 4 else "")
    on = f"{saving.entry} " if saving.entry else "the entry "
    return f"but {on}runs {shown}: deferring only delays the import"


def split_sites(report: AuditReport) -> set[tuple[str, int]]:
    """(file, line) of the statements split into several sites (their names differ in class)."""
    seen: set[tuple[str, int]] = set()
    split: set[tuple[str, int]] = set()
    for site in report.sites:
        key = (site.file, site.line)
        (split if key in seen else seen).add(key)
    return split


def file_order(files: dict[str, list[ImportSite]]) -> list[str]:
    """Files with a saving first, biggest first; then the others, alphabetically."""
    def key(path: str) -> tuple[bool, float, str]:
        top = max((s.us for site in files[path] for s in site.savings), default=0.0)
        return (top <= 0, -top, path)
    return sorted(files, key=key)


def site_order(sites: list[ImportSite]) -> list[ImportSite]:
    """Biggest saving first, then by line (split sites keep their order)."""
    return sorted(sites, key=lambda site: (-best_us(site), site.line))


def sites_by_saving(report: AuditReport) -> list[ImportSite]:
    """The fixable (not needed) sites, biggest saving first, then class order, file, line."""
    rank = {klass: index for index, klass in enumerate(CLASSES)}
    fixable = [site for site in report.sites if site.klass != "needed"]
    return sorted(fixable, key=lambda site: (-best_us(site), rank.get(site.klass, len(rank)),
                                             site.file, site.line))


def relative(path: str, root: str) -> str:
    """`path` without the audit root in front (`src/jobrunner/cli.py`), with `/`."""
    path = path.replace(os.sep, "/")
    root = root.replace(os.sep, "/").rstrip("/")
    if root and root != "." and path.startswith(root + "/"):
        return path[len(root) + 1:]
    return path


def short_file(path: str) -> str:
    """The file name, with its directory when the name alone says little (`util/__init__.py`)."""
    parts = path.replace(os.sep, "/").split("/")
    if parts[-1] in ("__init__.py", "__main__.py") and len(parts) > 1:
        return "/".join(parts[-2:])
    return parts[-1]


def link_text(link: Link) -> str:
    where = [link.note] if link.note else []
    if link.file:
        where.append(f"{os.path.basename(link.file)}:{link.line}" if link.line else
                     os.path.basename(link.file))
    return link.module + (f" ({', '.join(where)})" if where else "")


def clip(text: str, width: int) -> str:
    width = max(width, 8)
    return text if len(text) <= width else text[:width - 3].rstrip() + "..."


def _chain_lines(head: str, chain: list[Link]) -> list[str]:
    if not chain:
        return [head.rstrip().removesuffix(" via")]
    words = [link_text(chain[0])] + [f"-> {link_text(link)}" for link in chain[1:]]
    lines, current = [], head + words[0]
    indent = " " * min(len(head), 12)
    for word in words[1:]:
        if len(current) + 1 + len(word) > WIDTH:
            lines.append(current)
            current = indent + word
        else:
            current += " " + word
    return lines + [current]


def _fill(text: str, indent: str) -> list[str]:
    return textwrap.wrap(text, WIDTH, subsequent_indent=indent, break_on_hyphens=False,
                         break_long_words=False) or [text]


def _wrapped(text: str, first: str, rest: str) -> str:
    return "\n".join(textwrap.wrap(text, WIDTH, initial_indent=first, subsequent_indent=rest,
                                   break_on_hyphens=False, break_long_words=False) or [first])
