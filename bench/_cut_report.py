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


#: the bounds a variant is held against: (key, column title)
BOUNDS = (("project", "trial's project bound, measured"),
          ("project-predicted", "trial's project bound, predicted"),
          ("all", "trial's all-lazy bound, measured"),
          ("all-predicted", "trial's all-lazy bound, predicted"),
          ("lazy-project", "lazy-project run (these rounds)"),
          ("lazy-all", "lazy-all run (these rounds)"))
_TRIAL_FIELDS = {"project": "project_bound_ms", "project-predicted": "project_bound_predicted_ms",
                 "all": "bound_ms", "all-predicted": "bound_predicted_ms"}


def savings(out: dict) -> dict:
    """The share of the start-up above the floor that each bound saves: the trial's bounds
    (project and all-lazy, measured and predicted; against its own eager runs), and the lazy
    runs in these rounds. Shares, not milliseconds: the trial runs at another moment than
    these rounds, and on a loaded machine both scale together, while a difference of
    milliseconds does not."""
    trial, series = out["trial"], out["series"]
    found = {}
    for key, name in _TRIAL_FIELDS.items():
        # a predicted bound is the eager profile's start-up minus what never loaded: its
        # share is of that profile's start-up (traced, so slower than the timed eager runs)
        base = trial.get("profile_ms") if key.endswith("-predicted") else None
        base = base or trial.get("before_ms")
        if base and trial.get(name) is not None:
            found[key] = (base - trial[name]) / base
    above = series["before"].median - series["floor"].median
    for name in ("lazy-all", "lazy-project"):
        if name in series and above > 0:
            found[name] = saved_share(series, name)
    return found


def saved_share(series: dict, name: str, of: str = "median") -> float:
    """The share of `before`'s start-up above the floor that the run `name` saves (by wall
    time, or `of="cpu_median"` by CPU time); a lazy run net of its wrapper."""
    before = getattr(series["before"], of)
    above = before - getattr(series["floor"], of)
    after = lazy_ms(series, name, of) if name.startswith("lazy-") else \
        getattr(series[name], of)
    return (before - after) / above if above > 0 else 0.0


def cpu_shares(series: dict, name: str) -> tuple[float, float | None] | None:
    """By the children's CPU time: the share the run `name` saves, and the share the
    lazy-project run saves, or None where the rounds recorded no CPU time (runs older than
    the CPU column) or `before` costs no CPU above the floor."""
    if not series["before"].cpu_ms or not series[name].cpu_ms or \
            series["before"].cpu_median <= series["floor"].cpu_median:
        return None
    bound = saved_share(series, "lazy-project", "cpu_median") \
        if "lazy-project" in series and "lazy-floor" in series else None
    return saved_share(series, name, "cpu_median"), bound


def reached(share: float, bound: float | None) -> str:
    """The variant's share of the start-up saved over a bound's share."""
    if bound is None:
        return "-"
    return "(no room)" if bound <= 0 else f"{share / bound:.2f}"


def lazy_ms(series: dict, name: str, of: str = "median") -> float:
    """A lazy run's median without the wrapper's fixed cost (lazy-floor minus floor)."""
    return getattr(series[name], of) - (getattr(series["lazy-floor"], of)
                                        - getattr(series["floor"], of))


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
        print(f"- trial ({trial['seconds']:.0f} s): start-up above the floor "
              f"{fmt(trial['before_ms'])} ms eager; project bound "
              f"{fmt(trial.get('project_bound_ms'))} ms measured, "
              f"{fmt(trial.get('project_bound_predicted_ms'))} ms predicted; all-lazy bound "
              f"{fmt(trial['bound_ms'])} ms measured, "
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
             ("trial, above its floor: before / project bound measured, predicted / "
              "all-lazy bound measured, predicted")]
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
                     f"{fmt(trial['before_ms'])} / {fmt(trial.get('project_bound_ms'))}, "
                     f"{fmt(trial.get('project_bound_predicted_ms'))} / "
                     f"{fmt(trial['bound_ms'])}, {fmt(trial['bound_predicted_ms'])}")
        print("| " + " | ".join(cells) + " |")
    print()
    if all(out["series"]["before"].cpu_ms for out in outs):
        print("### CPU time of the child (user + system from wait4, the same rounds), ms, "
              "median (min-max)\n")
        names = ["floor", "before", *variants, "lazy-floor", "lazy-project", "lazy-all"]
        print("| target | " + " | ".join(names) + " |")
        print("|---|" + "---:|" * len(names))
        for out in outs:
            series = out["series"]
            print(f"| {out['target'].name} | " + " | ".join(
                spread(series[n].cpu_ms) if n in series and series[n].cpu_ms else "n/a"
                for n in names) + " |")
        print()
    print("### Reached: the share of the start-up above the floor that the variant saves, "
          "over the share each bound saves, i.e. (before - after) / (before - bound) within "
          "one setup (goal: >= 0.8 with codemods, against the project bound); after/before "
          "is the median of per-round ratios\n")
    heads = ["target", "variant", "after/before", *(title for _, title in BOUNDS),
             "tests passed (before: ...)", "help identical", "modules at exit (before: ...)"]
    print("| " + " | ".join(heads) + " |")
    print("|---|---|" + "---:|" * (len(BOUNDS) + 1) + "---|---|---|")
    for out in outs:
        series, bounds = out["series"], savings(out)
        before = series["before"]
        for variant in variants:
            fix = out["fixes"][variant]
            cells = [out["target"].name, variant]
            if variant not in series:
                print("| " + " | ".join(cells + [fix.get("na", "n/a")]
                                        + [""] * (len(heads) - 3)) + " |")
                continue
            share = saved_share(series, variant)
            cells.append(f"{paired_ratio(series[variant], before):.3f}")
            cells += [reached(share, bounds.get(key)) for key, _ in BOUNDS]
            if "tests" in fix:
                cells.append(f"{passed(fix['tests'][0])} ({passed(out['tests_before'][0])})")
            else:  # --retime: the tests ran in the run that made the copies
                cells.append("(that run's)")
            cells.append("-" if "help" not in fix else (
                f"yes ({len(out['help_paths'])})" if not fix["help"] else
                f"**no ({len(fix['help'])} of {len(out['help_paths'])})**"))
            cells.append(f"{len(out['modules'][variant])} ({len(out['modules']['before'])})")
            print("| " + " | ".join(cells) + " |")
    print()


#: A bound that saves less than this share of the start-up above the floor leaves no room
#: this benchmark can tell from noise (its rounds' spread on this VM is several percent).
NO_ROOM = 0.05
#: The goal of issue 11: the codemods variant reaches this share of the project bound.
GOAL = 0.8


def verdicts(outs: list[dict]) -> None:
    """One line per target: the goal (codemods >= 0.8 of the trial's project bound, measured
    and predicted; 0 test regressions; help byte-identical) met, not met, or no room."""
    print("### Verdict per target (codemods against the trial's project bound; no room: the "
          f"bound saves < {NO_ROOM:.0%} of the start-up above the floor, measured and "
          "predicted)\n")
    print("| target | the project bound saves (measured / predicted) | codemods save | "
          "reached (measured / predicted) | by CPU time: codemods save; reached (predicted / "
          "lazy-project run) | tests | help | verdict |")
    print("|---|---:|---:|---:|---:|---|---|---|")
    for out in outs:
        series, bounds = out["series"], savings(out)
        fix = out["fixes"].get("codemods", {})
        if "codemods" not in series:
            print(f"| {out['target'].name} | | | | | | | n/a: {fix.get('na', 'not run')} |")
            continue
        share = saved_share(series, "codemods")
        measured, predicted = bounds.get("project"), bounds.get("project-predicted")
        tests_ok = "tests" not in fix or passed(fix["tests"][0]) == passed(
            out["tests_before"][0])
        help_ok = not fix.get("help")
        room = [b for b in (measured, predicted) if b is not None]
        reach = [share / b for b in room if b >= NO_ROOM]
        if not tests_ok or not help_ok:
            verdict = "**not met**: a test or a help changed"
        elif not room:
            verdict = "no bound (the trial gave none)"
        elif not reach:
            verdict = (f"met: no room by the bound (it saves < {NO_ROOM:.0%}); the fix saves "
                       f"{share:.0%}")
        elif min(reach) >= GOAL:
            verdict = "**met**" + (" (beyond the bound)" if min(reach) > 1 else "")
        elif max(reach) >= GOAL:
            verdict = "met by one bound only"
        else:
            verdict = "**not met**"
        cpu = cpu_shares(series, "codemods")
        cpu_cell = "-"
        if cpu is not None:
            cpu_share, cpu_bound = cpu
            cpu_cell = (f"{cpu_share:.0%}; {reached(cpu_share, predicted)} / "
                        f"{reached(cpu_share, cpu_bound)}")
            if (verdict.startswith(("**not met**", "met by one")) and tests_ok and help_ok
                    and predicted is not None and predicted >= NO_ROOM
                    and cpu_share / predicted >= GOAL):
                verdict += f"; by CPU time met ({cpu_share / predicted:.2f} of the predicted)"
        cell = " / ".join("-" if b is None else f"{b:.0%}" for b in (measured, predicted))
        reached_cell = " / ".join(reached(share, b) for b in (measured, predicted))
        help_cell = "-" if "help" not in fix else ("identical" if help_ok else "changed")
        tests_cell = "(that run's)" if "tests" not in fix else (
            f"{passed(fix['tests'][0])} = {passed(out['tests_before'][0])}" if tests_ok
            else f"**{passed(fix['tests'][0])} of {passed(out['tests_before'][0])}**")
        print(f"| {out['target'].name} | {cell} | {share:.0%} | {reached_cell} | {cpu_cell} | "
              f"{tests_cell} | {help_cell} | {verdict} |")
    print()
