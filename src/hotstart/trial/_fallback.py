"""The per-package fallback: when laziness changes what the program does, find the packages
at fault and keep them eager.

The eager run and each lazy run are compared by exit status, stdout and stderr (without the
lines that differ between two eager runs). When they
differ, the package named by the innermost frames of the lazy run's traceback is made eager
first (the usual case: a package that registers itself through an import side effect fails
where its lazy binding is used): its side-effect imports first, then, if that is not
enough, the whole package; without one, the
top-level packages the trial deferred are bisected (assuming one package is at fault; if
several are, each round finds one). At most ``ceil(log2(N)) + 3`` runs are spent; if the
output still differs after them, every deferred package is made eager and the trial says so.

A traceback names where the failure showed, which is not always the package at fault: a
project reading ``typer.core.X`` fails in its own frame when it is typer's deferred
``from .main import ...`` that no longer binds ``typer.core``. So once the output is right,
each package the traceback named (and each one bisection kept with others when its runs ran
out) is tried lazy again, one run each while others are kept eager: if the output stays
right, it was not at fault and stays lazy.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ._record import Record, module_of_file

__all__ = ["Fallback", "Outcome", "differs", "error_line", "find_eager_packages",
           "mark_unstable", "packages_deferred", "traceback_package"]

_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<function>.+)$')
#: Frames of the trial's own machinery are never the package at fault.
_MACHINERY = ("/hotstart/lazy/", "/hotstart/trial/", "/importlib/", "<frozen ")


@dataclass(slots=True)
class Outcome:
    """What one run of the target did: its exit status (None: killed at the timeout), its
    stdout, its stderr and its record (None if it wrote none)."""

    exit_code: int | None
    stdout: bytes
    stderr: str
    record: Record | None
    #: On the eager outcome: per stream ("stdout", "stderr"), the line numbers that differed
    #: between two eager runs (not compared), or None when the two differed in their number
    #: of lines (the stream is not compared at all). See `mark_unstable`.
    varies: dict[str, frozenset[int] | None] = field(default_factory=dict)


def differs(eager: Outcome, lazy: Outcome, *, compare_stdout: bool = True) -> str | None:
    """How `lazy` differs from `eager`, in words (with the first differing line); None if it
    does not. Exit status, then stdout and stderr, without the lines that vary between two
    eager runs (`eager.varies`); `compare_stdout=False`: the exit status only."""
    if lazy.exit_code is None:
        return "the lazy run did not finish (killed at the timeout)"
    if lazy.exit_code != eager.exit_code:
        last = error_line(lazy.stderr)
        said = f": {last}" if last else ""
        return (f"the lazy run exited {lazy.exit_code} where the eager run exited "
                f"{eager.exit_code}{said}")
    if not compare_stdout:
        return None
    for stream, before, after in (("stdout", _lines(eager.stdout), _lines(lazy.stdout)),
                                  ("stderr", _lines(eager.stderr), _lines(lazy.stderr))):
        skip = eager.varies.get(stream, frozenset())
        if skip is None:
            continue
        found = _first_difference(before, after, skip)
        if found is not None:
            return f"the lazy run printed other {stream}: {found}"
    return None


def mark_unstable(eager: Outcome, again: Outcome) -> list[str]:
    """Set `eager.varies` from a second eager run `again`: the lines of each stream that
    differ between the two are not compared (a stream whose number of lines differs is not
    compared at all). Returns what it left out, in words, for the report's notes."""
    notes = []
    for stream in ("stdout", "stderr"):
        first, second = (_lines(getattr(o, stream)) for o in (eager, again))
        if len(first) != len(second):
            eager.varies[stream] = None
            notes.append(f"the entry's {stream} differs between two eager runs ({len(first)} "
                         f"and {len(second)} lines): the lazy run's {stream} was not compared")
            continue
        skip = frozenset(n for n, (a, b) in enumerate(zip(first, second)) if a != b)
        eager.varies[stream] = skip
        if skip:
            shown = ", ".join(str(n + 1) for n in sorted(skip)[:5])
            notes.append(f"line{'s' if len(skip) != 1 else ''} {shown}"
                         f"{' ...' if len(skip) > 5 else ''} of the entry's {stream} "
                         f"differ{'s' if len(skip) == 1 else ''} between two eager runs: not "
                         f"compared")
    return notes


def _lines(output: bytes | str) -> list[str]:
    """The lines of a run's output, without the trial's own lines (hotstart's child writes
    "hotstart: trial ..." on stderr)."""
    text = output.decode("utf-8", "surrogateescape") if isinstance(output, bytes) else output
    return [line for line in text.splitlines() if not line.startswith("hotstart: trial ")]


def _first_difference(eager: list[str], lazy: list[str], skip: frozenset[int]) -> str | None:
    """The first line (not in `skip`) where `lazy` differs from `eager`, in words."""
    for number, (before, after) in enumerate(zip(eager, lazy)):
        if number not in skip and before != after:
            return (f"line {number + 1} is {_short_line(after)} where the eager run's is "
                    f"{_short_line(before)}")
    if len(eager) != len(lazy):
        return f"{len(lazy)} lines where the eager run printed {len(eager)}"
    return None


def _short_line(line: str, width: int = 80) -> str:
    text = repr(line)
    return text if len(text) <= width else f"{text[:width - 3]}..."


#: The line a traceback ends with: `KeyError: 'a'`, `pkg.errors.ConfigError: ...`.
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Iteration|Warning)"
                        r"(: |$)")


def error_line(stderr: str) -> str:
    """What a failed run said: the last exception line of its traceback (not the notes
    after it), else its last line; "" if it printed nothing."""
    lines = [line.rstrip() for line in stderr.splitlines() if line.strip()]
    found = next((line for line in reversed(lines) if _EXCEPTION.match(line)), None)
    return found or (lines[-1].strip() if lines else "")


def packages_deferred(record: Record | None, fallback: Record | None) -> list[str]:
    """The top-level packages the trial made lazy (imported, or importing, in a deferred
    import); without a lazy record, every package the eager run loaded."""
    names: set[str] = set()
    if record is not None and (record.filtered or record.deferred or record.reified):
        for imported, (_where, importing) in record.filtered.items():
            names.add(imported.partition(".")[0])
            if importing and importing != "__main__":
                names.add(importing.partition(".")[0])
        names.update(n.partition(".")[0] for n in (*record.deferred, *record.reified))
    elif fallback is not None:
        names.update(n.partition(".")[0] for n, path in fallback.modules.items() if path)
    names.discard("__main__")
    names.discard("hotstart")
    return sorted(names)


def traceback_package(stderr: str, records: list[Record | None], candidates: set[str]
                      ) -> tuple[str, str] | None:
    """The package (among `candidates`) of the innermost traceback frame in `stderr` that is
    not the trial's machinery, with the frame as ``file:line``; None if no frame is in one."""
    frames = [match for match in (_FRAME.match(line) for line in stderr.splitlines()) if match]
    for match in reversed(frames):
        filename = match["file"]
        if any(part in filename.replace("\\", "/") for part in _MACHINERY):
            continue
        for record in records:
            if record is None:
                continue
            package = module_of_file(record, filename)
            if package in candidates:
                return package, f"{filename}:{match['line']}"
    return None


@dataclass(slots=True)
class Fallback:
    """What the fallback kept eager: whole packages (`eager`), and packages whose imports
    kept for a side effect (their bound name is never read) are eager (`effects`), each with
    why; the last lazy outcome, and the runs it took."""

    eager: dict[str, str]
    effects: dict[str, str]
    outcome: Outcome
    runs: int
    #: Packages a traceback named that were tried lazy again and found not at fault -> why.
    cleared: dict[str, str] = field(default_factory=dict)


def find_eager_packages(run_lazy: Callable[[frozenset[str], frozenset[str]], Outcome],
                        eager: Outcome, first: Outcome, *, compare_stdout: bool = True,
                        settle: Callable[[Outcome, Callable[[], Outcome]], bool] | None = None
                        ) -> Fallback:
    """Keep eager what laziness breaks, until the lazy run does what the eager run does.

    `run_lazy(packages, effects)` runs the target lazily with `packages` eager and the
    side-effect imports of `effects` eager; `first` is the lazy run with none. A package
    named by a traceback first gets only its side-effect imports eager (PEP 810's "all" mode
    defers them, and a package registering a C capsule that way breaks), then, if that was
    not enough, the whole package. `settle(outcome, again)`, called when a lazy run differs by
    its output only (`again()` runs the same configuration once more), checks whether the
    output varies from run to run and returns whether the output is to be compared still
    (see `_trial._Output`)."""
    candidates = set(packages_deferred(first.record, eager.record))
    budget = math.ceil(math.log2(max(len(candidates), 1))) + 3
    chosen: dict[str, str] = {}
    effects: dict[str, str] = {}
    #: Packages kept eager that may not be at fault -> why they were suspected: named by a
    #: traceback, or kept with others when bisection ran out of runs.
    suspects: dict[str, str] = {}
    current = first
    runs = 0

    def run() -> Outcome:
        nonlocal runs
        runs += 1
        return run_lazy(frozenset(chosen), frozenset(effects))

    def done(outcome: Outcome) -> Fallback:
        return _clear_bystanders(run_lazy, eager, Fallback(chosen, effects, outcome, runs),
                                 suspects, compare_stdout)

    def compare(outcome: Outcome) -> str | None:
        """How `outcome` (the run with `chosen` and `effects`) differs, once an output-only
        difference was checked for output that varies by itself (no package's fault)."""
        nonlocal compare_stdout
        difference = differs(eager, outcome, compare_stdout=compare_stdout)
        if difference is not None and settle is not None \
                and differs(eager, outcome, compare_stdout=False) is None:
            compare_stdout = settle(outcome, lambda: run_lazy(frozenset(chosen),
                                                              frozenset(effects)))
            difference = differs(eager, outcome, compare_stdout=compare_stdout)
        return difference

    while runs < budget:
        difference = compare(current)
        if difference is None:
            return done(current)
        left = candidates - set(chosen)
        if not left:
            break
        named = traceback_package(current.stderr, [current.record, eager.record], left)
        if named is not None:
            package, frame = named
            why = f"{difference}; its traceback's innermost frame is in {package} ({frame})"
            if package in effects:  # its side-effect imports eager were not enough
                chosen[package] = f"{effects.pop(package)}; then {why}"
            else:
                effects[package] = why
                suspects[package] = "its traceback's innermost frame was there"
            current = run()
            continue
        pool = sorted(left)
        while len(pool) > 1 and runs < budget - 1:
            half = pool[:len(pool) // 2]
            runs += 1
            trial = run_lazy(frozenset(chosen) | frozenset(half), frozenset(effects))
            if differs(eager, trial, compare_stdout=compare_stdout) is None:
                pool = half
            else:
                pool = pool[len(pool) // 2:]
        found = (f"found {pool[0]}" if len(pool) == 1
                 else f"narrowed it to {len(pool)} packages")
        if len(pool) > 1:
            suspects.update((name, "bisecting kept it with others") for name in pool)
        for package in pool:
            effects.pop(package, None)
            chosen[package] = (f"{difference}; bisecting the {len(candidates)} deferred "
                               f"packages {found}")
        current = run()
    if compare(current) is None:
        return done(current)
    why = (f"laziness still changed the output after {runs} runs looking for the packages "
           f"at fault: every deferred package was made eager")
    for package in sorted(candidates - set(chosen)):
        effects.pop(package, None)
        chosen[package] = why
    final = run()
    compare(final)  # its output may differ only where it varies by itself
    return Fallback(chosen, effects, final, runs)


def _clear_bystanders(run_lazy: Callable[[frozenset[str], frozenset[str]], Outcome],
                      eager: Outcome, found: Fallback, suspects: dict[str, str],
                      compare_stdout: bool) -> Fallback:
    """Try lazy again each suspect (a package a traceback named: the failure showed in its
    frame, the fault may have been another's; or one bisection kept with others when its
    runs ran out) that is kept eager beside others: one run each, at most four; a package
    whose lazy run is then identical goes back to lazy, and `found.cleared` says why."""
    order = [name for name in suspects if name in found.eager or name in found.effects]
    for package in order[:4]:
        others = sorted(other for other in {*found.eager, *found.effects} if other != package)
        if not others:
            continue  # the only one kept: it is what made the output right
        eager_now = {k: v for k, v in found.eager.items() if k != package}
        effects_now = {k: v for k, v in found.effects.items() if k != package}
        found.runs += 1
        outcome = run_lazy(frozenset(eager_now), frozenset(effects_now))
        if differs(eager, outcome, compare_stdout=compare_stdout) is None:
            found.cleared[package] = (
                f"{suspects[package]}, but the run is identical with it lazy once "
                f"{', '.join(others)} {'is' if len(others) == 1 else 'are'} eager: not at "
                f"fault")
            found.eager, found.effects, found.outcome = eager_now, effects_now, outcome
    return found
