"""The lazy trial as run-time evidence for the audit (`hotstart audit --trial`).

For each import site on an entry's path (its module loaded by the entry), the trial says
whether the site's module was used on that path (and where first), loaded by another eager
import, or never touched. An import the static rules keep (side-effect or needed) whose
module the path never touched is a *candidate*: reported, with the evidence that decided
its class (the static rule) beside what the trial saw. Safety first: the evidence never
changes a site's class, so `fix` never changes a site the static rules pin.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Sequence

from .model import AuditReport, Entry, ImportSite, TrialBound, TrialEvidence

__all__ = ["apply_trial", "entry_of_trial", "run_trials"]

#: Classes the static rules keep; the trial can only make such a site a candidate.
KEPT = ("side-effect", "needed")


def run_trials(report: AuditReport, entries: Sequence[tuple[Entry, str, str, tuple[str, ...]]],
               env: dict[str, str], cwd: str | None, *, runs: int, python: str | None,
               timeout: float | None, progress: Callable[[str], None] | None = None) -> list:
    """Run the lazy trial of each `(entry, kind, value, args)` in the project's setting and
    apply it; the `TrialReport`s, in order."""
    from ..errors import BadInput
    from ..measure.runner import Target
    from ..trial import run_trial

    trials = []
    for entry, kind, value, args in entries:
        if progress:
            progress(f"lazy trial of {entry.name}")
        try:
            # The project bound defers the imports of the audited files: what fix rewrites.
            trial = run_trial(Target(kind, value, args), python=python, runs=runs, cwd=cwd,
                              env=env, timeout=timeout,
                              project=sorted(set(report.paths.values())) or None)
        except BadInput as exc:
            raise BadInput(f"--trial on --entry {entry.name!r}: {exc}") from None
        apply_trial(report, entry, trial)
        trials.append(trial)
    return trials


def entry_of_trial(report: AuditReport, trial) -> Entry:
    """The report's entry the trial ran (matched by its command line), else a new one."""
    argv = list(trial.target)
    name = shlex.join(argv[1:] if argv and argv[0] == "python" else argv)
    for entry in report.entries:
        if entry.name == name or (argv[1:2] == ["-m"] and entry.name == argv[2]
                                  and len(argv) == 3):
            return entry
    entry = Entry(name, [])
    report.entries.append(entry)
    return entry


def apply_trial(report: AuditReport, entry: Entry, trial) -> None:
    """Record `trial` (a `hotstart.trial.TrialReport`) on `entry` and on each site of the
    entry's path."""
    entry.trial = TrialBound(trial.before_ms, trial.bound_ms, trial.bound_predicted_ms,
                             sorted(trial.eager_packages), trial.project_bound_ms,
                             trial.project_bound_predicted_ms)
    on_path = set(trial.modules)
    argv = list(trial.target)
    if argv[1:2] == ["-m"] and len(argv) > 2:  # `-m pkg` runs pkg.__main__ as __main__
        on_path.update((argv[2], f"{argv[2]}.__main__"))
    candidates = 0
    for site in report.sites:
        if site.module not in on_path:
            continue  # not on this path: the trial says nothing of it
        status, where = _status(site, trial)
        if status is None:
            continue
        # A lazy run that behaved otherwise than the eager one finds no candidate.
        candidate = status == "untouched" and site.klass in KEPT and not trial.no_bound
        candidates += candidate
        # A new list: the sites of one split statement may share the old one.
        site.trial = [*site.trial, TrialEvidence(entry.name, status, _shown(where, report),
                                                 candidate)]
    report.notes.append(_summary(entry.name, trial, candidates))


def _summary(name: str, trial, candidates: int) -> str:
    """One note: the trial's bound on the entry, and how many candidates it found."""
    def figure(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f} ms"

    project = ""
    if trial.project_bound_ms is not None:
        project = (f"project bound {figure(trial.project_bound_ms)} measured "
                   f"({figure(trial.project_bound_predicted_ms)} predicted) with the project's "
                   f"own imports deferred (what fixing its files can reach); ")
    text = (f"lazy trial on {name}: start-up {figure(trial.before_ms)}, {project}all-lazy "
            f"bound {figure(trial.bound_ms)} measured ({figure(trial.bound_predicted_ms)} "
            f"predicted) with the {len(trial.unused)} modules the path never used deferred, "
            f"libraries' own imports too")
    if trial.no_bound:
        text = (f"lazy trial on {name}: start-up {figure(trial.before_ms)}, no bound: "
                f"{trial.no_bound} (`fix` reports no share of it)")
    if trial.eager_packages:
        text += f"; kept eager: {', '.join(sorted(trial.eager_packages))}"
    if candidates:
        text += (f"; {candidates} site{'s' if candidates != 1 else ''} the static rules keep "
                 f"(side-effect, needed) never used on this path: candidates, not changed")
    return text


def _status(site: ImportSite, trial) -> tuple[str | None, str]:
    """What the trial saw of the site's module: (status, where)."""
    names = [bound.target for bound in site.names if bound.is_module] + [site.imported]
    for name in names:
        use = trial.used.get(name)
        if use is not None:
            return ("used" if use.how == "used" else "imported"), use.where
    for name in names:
        deferred = trial.unused.get(name)
        if deferred is not None:
            return "untouched", deferred.where or ""
    if site.imported in trial.modules:
        return "eager", ""
    return None, ""  # never loaded on this path (a guarded import that failed, say)


def _shown(where: str, report: AuditReport) -> str:
    """`where` with a project file shown as the audit shows it, relative to its root."""
    where = next((shown + where[len(spelling):] for shown, path in report.paths.items()
                  for spelling in (path, os.path.realpath(path))
                  if where.startswith(spelling + ":")), where)
    root = report.root.rstrip("/\\")
    if root and root != "." and where.startswith(root + os.sep):
        return where[len(root) + 1:]
    return where
