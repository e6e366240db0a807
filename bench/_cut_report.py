"""The Markdown that `bench_cut.py` prints: one section per target, then the summary tables."""

from __future__ import annotations

import re
import shlex

from _audit_report import listing, spread
from _timing import paired_ratio

VARIANT_LABELS = {
    "sites": "fix as it was (`--plan sites`, dead,deferrable,typing-only)",
    "joint": "fix, joint plans (`--plan joint`, import classes)",
    "codemods": "fix, joint + codemods (every select, `--runtime hotstart`)",
}
_REACHED = re.compile(r"fix reached .*", re.IGNORECASE)


def top_levels(modules: list[str]) -> list[str]:
    return sorted({m.split(".")[0] for m in modules})


def passed(summary: str) -> int | None:
    found = re.match(r"(\d+) passed", summary)
    return int(found.group(1)) if found else None


def savings(out: dict) -> dict:
    """The share of the start-up above the floor that each bound saves: the trial's measured
    and predicted bound (against its own eager runs), and the lazy mode's real run in these
    rounds. Shares, not milliseconds: the trial runs at another moment than these rounds, and
    on a loaded machine both scale together, while a difference of milliseconds does not."""
    trial, series = out["trial"], out["series"]
    found = {}
    before_ms = trial.get("before_ms")
    if before_ms:
        for key, field in (("trial", "bound_ms"), ("predicted", "bound_predicted_ms")):
            if trial.get(field) is not None:
                found[key] = (before_ms - trial[field]) / before_ms
    above = series["before"].median - series["floor"].median
    for name in ("lazy-all", "lazy-project"):
        if name in series and above > 0:
            found[name] = (series["before"].median - lazy_ms(series, name)) / above
    return found


def lazy_ms(series: dict, name: str) -> float:
    """A lazy run's median without the wrapper's fixed cost (lazy-floor minus floor)."""
    return series[name].median - (series["lazy-floor"].median - series["floor"].median)


def ratio_text(share: float, bounds: dict) -> str:
    """The variant's share of the start-up saved over each bound's share: trial measured /
    trial predicted / lazy-all real run / lazy-project real run."""
    cells = []
    for key in ("trial", "predicted", "lazy-all", "lazy-project"):
        bound = bounds.get(key)
        cells.append("-" if bound is None else ("(no room)" if bound <= 0 else
                                                f"{share / bound:.2f}"))
    return " / ".join(cells)


def report_target(out: dict) -> None:
    target = out["target"]
    print(f"### {target.name} {out['version']}\n")
    print(f"- pattern: {target.pattern}")
    print(f"- entry: `python {shlex.join(target.entry)}`; tests: `{shlex.join(target.tests)}` "
          f"({target.note})")
    if out["shadow"]:
        print(f"- the copies shadow the installed package (`{out['shadow']}`)")
    trial = out["trial"]
    if "na" in trial:
        print(f"- trial: {trial['na']}")
    elif "error" in trial:
        print(f"- trial: **failed** after {trial['seconds']:.0f} s: {trial['error']}")
    else:
        eager = "; ".join(f"{p}: {why}" for p, why in trial["eager_packages"].items())
        print(f"- trial ({trial['seconds']:.0f} s): start-up above the floor {fmt(trial['before_ms'])} "
              f"ms eager; bound {fmt(trial['bound_ms'])} ms measured, "
              f"{fmt(trial['bound_predicted_ms'])} ms predicted; {len(trial['unused'])} "
              f"modules imported but unused on the path, {len(trial['saved'])} never loaded "
              f"in the lazy run; output identical: {trial['identical']}; made eager: "
              f"{eager or 'none'}")
    for name, how in out["lazy"].items():
        if how != "measured":
            print(f"- {name} (a bound as a real run): {how}")
    before_mods = set(out["modules"]["before"])
    never = set(trial.get("saved") or ())
    print(f"- before: tests {out['tests_before'][0]} ({out['tests_before'][1]:.1f} s); "
          f"{len(before_mods)} modules at exit; valid .pyc "
          f"{out['pyc_before'][0]}/{out['pyc_before'][1]}")
    if out["help_paths"]:
        print(f"- help compared: {len(out['help_paths'])} paths (the program and every "
              f"subcommand, `--help`, COLUMNS=80 TERM=dumb NO_COLOR=1)")
    for variant, fix in out["fixes"].items():
        label = VARIANT_LABELS[variant]
        if "na" in fix:
            print(f"- {label}: {fix['na']}")
            continue
        mods = set(out["modules"][variant])
        reached = _REACHED.findall(fix["output"])
        status = "" if fix["returncode"] == 0 else (f" **exit {fix['returncode']}**: "
                                                   + " ".join(fix["stderr_tail"])[:200])
        print(f"- {label}: {fix['seconds']:.0f} s{status}; {len(fix['changed'])} files "
              f"changed{listing(fix['changed'], 8)}; tests {fix['tests'][0]}; help "
              + ("-" if "help" not in fix else
                 (f"identical ({len(out['help_paths'])} paths)" if not fix["help"] else
                  f"**{len(fix['help'])} differ**{listing(fix['help'], 4)}"))
              + f"; {len(mods)} modules at exit ({len(mods) - len(before_mods):+d}); valid "
              f".pyc {fix['pyc'][0]}/{fix['pyc'][1]}"
              + (f"; fix says: {reached[-1].strip()}" if reached else ""))
        if never:
            still = sorted(mods & never)
            print(f"  - still loaded though the trial's lazy run never loaded them: "
                  f"{len(still)} modules, packages{listing(top_levels(still), 12)}")
    print()


def fmt(value) -> str:
    return "-" if value is None else f"{value:.1f}"


def summary_tables(outs: list[dict], variants: tuple, rounds: int) -> None:
    print(f"### Start-up ({rounds} interleaved rounds after 2 warm-up rounds, order reversed "
          f"every round; wall ms from spawn to exit, median (min-max))\n")
    heads = ["target", "entry", "floor `-c pass`", "before", *variants,
             "lazy-all (the trial's bound, run); net of the wrapper",
             "lazy-project (the project's bound, run); net of the wrapper",
             "trial: before / bound measured / predicted (above the floor)"]
    print("| " + " | ".join(heads) + " |")
    print("|---|---|" + "---:|" * (len(heads) - 2))
    for out in outs:
        series, trial = out["series"], out["trial"]
        cells = [out["target"].name, f"`{shlex.join(out['target'].entry)}`",
                 spread(series["floor"].samples_ms), spread(series["before"].samples_ms)]
        for variant in variants:
            cells.append(spread(series[variant].samples_ms) if variant in series else "n/a")
        for name in ("lazy-all", "lazy-project"):
            cells.append(f"{spread(series[name].samples_ms)}; {lazy_ms(series, name):.1f} "
                         f"net" if name in series else "n/a")
        cells.append("n/a" if "before_ms" not in trial else
                     f"{fmt(trial['before_ms'])} / {fmt(trial['bound_ms'])} / "
                     f"{fmt(trial['bound_predicted_ms'])}")
        print("| " + " | ".join(cells) + " |")
    print()
    print("### Reached: the share of the start-up above the floor that the variant saves, "
          "over the share the bound saves ((before - after) / (before - bound) within one "
          "setup), by bound: the trial's measured / the trial's predicted / lazy-all run / "
          "lazy-project run in these rounds (goal >= 0.8 with codemods); in brackets "
          "after/before, the median of per-round ratios\n")
    heads = ["target", *(f"{v}: ratios to the bounds (after/before)" for v in variants),
             "tests before → after (passed)", "help identical", "modules before → after"]
    print("| " + " | ".join(heads) + " |")
    print("|---|" + "---|" * (len(heads) - 1))
    for out in outs:
        series, bounds = out["series"], savings(out)
        before = series["before"]
        cells = [out["target"].name]
        tests, helps, mods = [], [], []
        for variant in variants:
            fix = out["fixes"][variant]
            if variant not in series:
                cells.append("n/a")
                continue
            share = ((before.median - series[variant].median)
                     / (before.median - series["floor"].median))
            cells.append(f"{ratio_text(share, bounds)} "
                         f"({paired_ratio(series[variant], before):.3f})")
            tests.append(f"{passed(fix['tests'][0])}")
            if "help" in fix:
                helps.append("yes" if not fix["help"] else f"**no ({len(fix['help'])})**")
            mods.append(str(len(out["modules"][variant])))
        cells.append(f"{passed(out['tests_before'][0])} → {' / '.join(tests) or '-'}")
        cells.append(" / ".join(helps) or "-")
        cells.append(f"{len(out['modules']['before'])} → {' / '.join(mods) or '-'}")
        print("| " + " | ".join(cells) + " |")
    print()
