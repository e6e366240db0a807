"""The Markdown that `bench_audit.py` prints for each target and the summary tables."""

from __future__ import annotations

import shlex
from collections import Counter

from _audit_targets import Target
from _timing import paired_ratio

from hotstart.fix.verify import CommandResult

MiB = 1 << 20


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def spread(values: list[float], digits: int = 1) -> str:
    return (f"{median(values):.{digits}f} ({min(values):.{digits}f}-"
            f"{max(values):.{digits}f})")


def error_line(tail: str) -> str:
    # the rule lives with the verify report (`hotstart fix` shows the same line)
    return CommandResult(False, None, tail).error_line()[:160]


def report_target(out: dict) -> None:
    target: Target = out["target"]
    print(f"### {target.name} {out['version']}\n")
    where = (f"the copy shadows the installed package (`{target.package}.__file__` = "
             f"`{out['shadow']}`)" if target.package else "run from the copy's root")
    print(f"- entry: `python {shlex.join(target.entry)}`; {where}")
    if target.fix_entries:
        print("- fix measures: " + ", ".join(f"`{shlex.join(e)}`" for e in target.fix_entries))
    elif target.static:
        print("- fix: no entry (every fixable site)")
    print(f"- verify: `{out['command'].split(' && ', 1)[1]}` in the copy ({target.note})")
    result = out["result"]
    if out.get("fix_error"):
        message, tb = out["fix_error"]
        print(f"- **fix failed** after {out['fix_seconds']:.1f} s: {message}\n")
        print("```\n" + tb.rstrip() + "\n```")
    if result is not None:
        report = result.report
        classes = Counter(s.klass for s in report.sites)
        print(f"- audit: {report.files} files, {len(report.sites)} import sites ("
              + ", ".join(f"{k} {n}" for k, n in sorted(classes.items())) + ")")
        for entry in report.entries:
            if entry.measured:
                fix_ms = (entry.fix_us or 0) / 1e3
                print(f"- audit's measurement of the entry (under the tracer): import "
                      f"{(entry.import_us or 0) / 1e3:.1f} ms, peak RSS "
                      f"{(entry.peak_rss or 0) / MiB:.1f} MiB; fixing all {entry.fix_sites} "
                      f"fixable sites together saves {fix_ms:.1f} ms, "
                      f"{(entry.fix_rss or 0) / MiB:.1f} MiB; bytecode: {entry.bytecode}")
        kept = Counter(c.action for c in result.changes)
        files = {c.path for c in result.changes}
        v = result.verification
        print(f"- fix: {len(result.changes) + len(result.reverted)} changes planned, "
              f"{len(result.changes)} kept in {len(files)} files ("
              + (", ".join(f"{a} {n}" for a, n in kept.most_common()) or "none")
              + f"), {len(result.reverted)} reverted by verify, {len(result.skipped)} sites "
              f"skipped; {v.runs if v else 0} test runs; {out['fix_seconds']:.1f} s")
        reasons = Counter(s.why.split(":")[0] if "entrypoint runs" in s.why else s.why
                          for s in result.skipped)
        print("- skipped because: " + "; ".join(f"{why} ({n})"
                                                for why, n in reasons.most_common(6)))
        root = out["after_root"] + "/"
        kept_ids = Counter(f"{c.action} `{c.id.replace(root, '')}`" for c in result.changes)
        for text, count in kept_ids.items():   # one line per site, not per imported name
            print(f"  - kept: {text}"[:200] + (f" (x{count})" if count > 1 else ""))
        for change, (_, tail) in zip(result.reverted, v.reverted if v else []):
            print(f"  - **reverted**: {change.action} `{change.id.replace(root, '')}`"[:200]
                  + f" -- {error_line(tail)}")
    api = out.get("api")
    if api:
        print(f"- public names (every non-test module of both copies imported, each public "
              f"name resolved with getattr): {api['modules']} modules; no longer importable: "
              f"{len(api['broken'])}{listing(api['broken'])}; lost from a package __init__ or "
              f"an __all__, or now raising: {len(api['hard'])}{listing(api['hard'])}; "
              f"submodule attributes no longer bound before `import pkg.sub`: "
              f"{len(api['submodules'])}{listing(api['submodules'])}; other module attributes "
              f"no longer bound (moved or removed imports): {len(api['soft'])}"
              f"{listing(api['soft'], 6)}")
    second = out.get("second")
    if second:
        if "error" in second:
            print(f"- **second fix failed**: {second['error']}")
        else:
            root = out["after_root"] + "/"
            print(f"- second fix on the fixed copy: {len(second['changes'])} changes kept"
                  f"{listing([c.replace(root, '')[:120] for c in second['changes']], 6)}, "
                  f"{len(second['reverted'])} planned again and reverted again by verify"
                  f"{listing([c.replace(root, '')[:120] for c in second['reverted']], 6)}, "
                  f"{second['runs']} test runs, "
                  f"{second['seconds']:.1f} s; files no longer byte-identical: "
                  f"{len(second['files'])}{listing(second['files'], 6)}")
        hints = out["hints"]
        print(f"- get_type_hints (include_extras) of the {len(out['changed'])} changed files' "
              f"modules and their classes, functions and methods, fresh interpreters: "
              f"{hints['objects']} objects ({hints['errors_before']} already raise before the "
              f"fix), {len(hints['diffs'])} differ; new in the fixed modules (the fix's own "
              f"module `__getattr__`/`__dir__`): {len(hints['added'])}")
        for key, old_text, new_text in hints["diffs"][:8]:
            print(f"  - **{key}**: before `{old_text[:150]}` / after `{new_text[:150]}`")
    for side in ("before", "after"):
        text, seconds, _ = out[f"tests_{side}"]
        ok, total = out["pyc"][side]
        print(f"- {side}: tests {text} ({seconds:.1f} s); valid .pyc for {ok}/{total} .py files")
    if "tests_second" in out:
        text, seconds, _ = out["tests_second"]
        print(f"- after the second fix: tests {text}" + (f" ({seconds:.1f} s)" if seconds else ""))
    print()


def estimate(out: dict) -> str:
    """What the audit measured (under its tracer) that fixing every fixable site would save
    on the entry: an upper bound for what the kept changes save."""
    result = out["result"]
    entries = [e for e in result.report.entries if e.measured] if result else []
    tail = shlex.join(out["target"].entry)   # the measured entry, of several
    entries = [e for e in entries if e.name.endswith(tail)] or entries
    return f"{entries[0].fix_us / 1e3:.1f}" if entries and entries[0].fix_us else "-"


def listing(items: list[str], limit: int = 12) -> str:
    if not items:
        return ""
    shown = ", ".join(f"`{i}`" for i in items[:limit])
    return f" ({shown}{', ...' if len(items) > limit else ''})"


def measurement_table(outs: list[dict], rounds: int) -> None:
    print(f"### Entry start-up, before vs after the fix ({rounds} interleaved rounds after 2 "
          f"warm-up rounds, order alternating; wall from spawn to exit; peak RSS (VmHWM) and "
          f"modules at exit from as many rounds of the entry run through a reporting wrapper)\n")
    print("| target | entry | before ms median (min-max) | after ms median (min-max) | "
          "after/before (median of per-round ratios) | saved ms (medians) | audit's estimate "
          "ms | peak RSS MiB before → after | modules before → after |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for out in outs:
        m = out["measure"]
        b, a = m["series"]["before"], m["series"]["after"]
        rb = [x / MiB for x in m["rss"]["before"]]
        ra = [x / MiB for x in m["rss"]["after"]]
        print(f"| {out['target'].name} | `{shlex.join(out['target'].entry)}` | "
              f"{spread(b.samples_ms)} | {spread(a.samples_ms)} | {paired_ratio(a, b):.3f} | "
              f"{b.median - a.median:.1f} | {estimate(out)} | {median(rb):.1f} → "
              f"{median(ra):.1f} ({median(ra) - median(rb):+.1f}) | {m['modules']['before']} → "
              f"{m['modules']['after']} ({m['modules']['after'] - m['modules']['before']:+d}) |")
    print()


def fix_table(outs: list[dict]) -> None:
    print("### What the fix did\n")
    print("| target | version | files | import sites | changes kept | reverted by verify | "
          "verify runs | fix s | tests before | tests after | second fix: changes kept / "
          "planned again and reverted / files changed | tests after the second fix | "
          "get_type_hints differing / compared | public names lost (hard / submodule "
          "attributes / other) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|---|---:|---|---:|---:|")
    for out in outs:
        r, api = out["result"], out.get("api")
        if r is None:
            cells = ["-", "-", "**crashed**", "-", "-"]
        else:
            cells = [str(r.report.files), str(len(r.report.sites)), str(len(r.changes)),
                     str(len(r.reverted)), str(r.verification.runs if r.verification else 0)]
        second, hints = out.get("second"), out.get("hints")
        if second is None:
            twice = ["-", "-", "-"]
        else:
            made = ("**error**" if "error" in second
                    else f"{len(second['changes'])} / {len(second['reverted'])} / "
                         f"{len(second['files'])}")
            twice = [made, out["tests_second"][0],
                     f"{len(hints['diffs'])} / {hints['objects']}"]
        lost = ("-" if api is None else f"{len(api['broken']) + len(api['hard'])} / "
                f"{len(api['submodules'])} / {len(api['soft'])}")
        print(f"| {out['target'].name} | {out['version']} | " + " | ".join(cells)
              + f" | {out['fix_seconds']:.0f} | {out['tests_before'][0]} | "
                f"{out['tests_after'][0]} | " + " | ".join(twice) + f" | {lost} |")
    print()
