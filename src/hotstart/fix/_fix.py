"""Audit, plan, rewrite, verify, write: the `hotstart fix` pipeline."""

from __future__ import annotations

import difflib
import math
import os
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .._text import diff_path
from ..audit import audit, parse_version
from ..audit.model import AuditReport
from ..errors import BadInput, HotstartError
from ._groups import (
    Group,
    left_unused,
    measured_graphs,
    plan_groups,
    program_groups,
    single_groups,
)
from ._lazy_reads import star_pinned
from ._write import Files, Source, read_source
from .plan import PLANS, SELECTABLE, Change, Skipped, plan_changes
from .verify import CommandResult, Verification, find_culprits, run_command

__all__ = ["FileChange", "FixResult", "Group", "Refused", "fix"]


@dataclass(slots=True)
class FileChange:
    path: str
    shown: str
    before: str
    after: str
    stub_path: str | None = None
    stub: str | None = None
    encoding: str = "utf-8"

    def needs(self) -> list[str]:
        """The hotstart modules the rewritten file imports that it did not before (what its
        generated code needs at run time besides the standard library), sorted."""
        return sorted(_hotstart_imports(self.after) - _hotstart_imports(self.before))


def _hotstart_imports(source: str) -> set[str]:
    """The `hotstart...` modules a source imports anywhere (statements of a file that does
    not parse are not counted: fix never writes one)."""
    import ast

    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "hotstart")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and \
                node.module.split(".")[0] == "hotstart":
            found.add(node.module)
    return found


@dataclass(slots=True)
class Refused:
    """A file `fix` does not write, and why; its changes are not made."""
    file: str
    why: str
    changes: int = 0


@dataclass(slots=True)
class FixResult:
    report: AuditReport
    changes: list[Change]
    skipped: list[Skipped]
    files: list[FileChange]
    runtime: str
    verification: Verification | None = None
    written: bool = False
    reverted: list[Change] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    #: "joint" (changes grouped by what leaves the path together) or "sites" (one by one).
    plan: str = "sites"
    #: The units kept or reverted together; their changes are `changes`.
    groups: list[Group] = field(default_factory=list)
    #: Why the joint plan was not used when it was asked for (no measured entry graph).
    plan_note: str | None = None
    #: After `--write`: each measured entry profiled again on the written code.
    remeasured: list = field(default_factory=list)
    #: Groups written, then reverted because they measured nothing.
    remeasure_reverted: list[Group] = field(default_factory=list)
    #: Why the written code was not profiled again, when it was not.
    remeasure_note: str | None = None

    def diff(self) -> str:
        out = []
        for change in self.files:
            out.extend(difflib.unified_diff(
                change.before.splitlines(keepends=True), change.after.splitlines(keepends=True),
                *(diff_path(side, change.shown.lstrip("/")) for side in ("a/", "b/"))))
            if change.stub is not None and change.stub_path is not None:
                shown = os.path.join(os.path.dirname(change.shown),
                                     os.path.basename(change.stub_path))
                out.extend(difflib.unified_diff([], change.stub.splitlines(keepends=True),
                                                "/dev/null", diff_path("b/", shown.lstrip("/"))))
        return "".join(line if line.endswith("\n") else line + "\n" for line in out)


def fix(target: str, *, select: Sequence[str] = SELECTABLE, target_version: str = "3.11",
        defer: str = "auto", runtime: str = "auto", entries: Sequence[str] = (),
        profiles: Sequence[str] = (), tests: Sequence[str] = (),
        min_saving_ms: float | None = None, include_all: bool = False, write: bool = False,
        verify: str | None = None, verify_timeout: float | None = None,
        progress: Callable[[str], None] | None = None,
        report: AuditReport | None = None, plan: str = "joint", remeasure: bool = True,
        python: str | None = None, runs: int = 3, trial: bool = False) -> FixResult:
    """Rewrite the project at `target`. Without `write` nothing on disk changes (with
    `verify`, files are rewritten while the tests run and restored afterwards).

    `plan`: "joint" groups the import changes by what leaves the measured entries' paths
    together (a library imported at three sites leaves only when all three go), "sites"
    takes each site on its own saving. `remeasure`: after `write`, profile each measured
    entry again (`python`, `runs`: as the audit ran them) and revert a group that measured
    nothing. `trial`: with `write`, the lazy trial runs on each measured entry before the
    write and after it: "fix reached N % of the trial's bound"."""
    from ..errors import require_extra

    require_extra("libcst", "hotstart fix", "tools")  # `MissingExtra` before the audit runs
    from .codemods import PROGRAM_CODEMODS, program_codemod

    low, _high = parse_version(target_version)
    unknown = [s for s in select if s not in SELECTABLE]
    if unknown:
        raise BadInput(f"--select {','.join(unknown)}: choose from {', '.join(SELECTABLE)}")
    if plan not in PLANS:
        raise BadInput(f"--plan {plan}: choose from {', '.join(PLANS)}")
    if report is None:
        report = audit(target, entries=entries, profiles=profiles, tests=tests,
                       target_version=target_version, runs=runs, python=python,
                       progress=progress, trial=trial)
    requested = runtime
    if runtime == "auto":
        uses_hotstart = any(s.imported.split(".")[0] == "hotstart" for s in report.sites)
        runtime = "hotstart" if uses_hotstart else "stdlib"
    observed = measured_graphs(report)
    graphs = observed if plan == "joint" else []
    plan_note = None
    if plan == "joint" and not graphs and any(e.measured for e in report.entries):
        plan_note = ("the measured entries' import graphs are not in this process (a report "
                     "read back from JSON): each site is planned on its own saving")
    changes, skipped = plan_changes(report, report.paths, select=tuple(select), target=low,
                                    defer=defer, runtime=runtime, min_saving_ms=min_saving_ms,
                                    include_all=include_all, joint=bool(graphs))
    project = _project_directory(target, report)
    for name in select:
        if name in PROGRAM_CODEMODS:
            # the lazy subcommands import hotstart.lazy.cli at run time: --runtime decides
            # (auto: whether the project depends on hotstart, which the codemod reads)
            extra = {"runtime": requested} if name == "cli" else {}
            found, left = program_codemod(name).plan(report, report.paths, project, **extra)
            changes.extend(found)
            skipped.extend(left)
    from .codemods import program_action

    companions = left_unused(report, [c for c in changes if program_action(c) is not None])
    changes += [removal for removal, _ in companions]
    sources, refused = _read_sources(changes, project)
    changes = [c for c in changes if c.path in sources]
    packages = {report.paths[s.file]: s.module for s in report.sites if s.package_init}
    # Whether each package had its own __init__.pyi before anything was written: `--verify`
    # writes ours between renders, and must not then take it for the project's (lexists:
    # a dangling link there is not ours to replace either).
    had_stub = {path: os.path.lexists(_stub_path(path)) for path in packages}
    enable_lazy = low < (3, 15) and runtime == "hotstart"

    # One file's rewrite for one set of its changes, kept: `--verify`'s bisection renders the
    # same files with the same changes at every step, and libcst is the cost of a step.
    # (The entry keeps its changes alive, so no other change can take their ids.)
    rendered: dict[tuple[str, tuple[int, ...]], tuple[list[Change], object]] = {}

    def render(subset: Sequence[Change]) -> tuple[list[FileChange], list[tuple[Change, str]]]:
        from .codemods import rewrite

        grouped: dict[str, list[Change]] = defaultdict(list)
        for change in subset:
            grouped[change.path].append(change)
        files, dropped = [], []
        for path, group in grouped.items():
            source = sources[path]
            key = (path, tuple(id(c) for c in group))
            if key not in rendered:
                rendered[key] = (group, rewrite(
                    source.text, group, runtime=runtime, package=packages.get(path),
                    has_stub=had_stub.get(path, False), enable_lazy=enable_lazy))
            result = rendered[key][1]
            dropped.extend(result.skipped)
            try:
                source.encode(result.source)
            except UnicodeEncodeError:
                dropped.extend((c, f"the rewritten file cannot be written as {source.encoding}")
                               for c in group if all(c is not d for d, _ in result.skipped))
                continue
            if result.source != source.text or result.stub:
                files.append(FileChange(path, group[0].site.file, source.text, result.source,
                                        _stub_path(path) if result.stub else None,
                                        result.stub, source.encoding))
        return files, dropped

    blocked: set[tuple[str, int]] = set()
    limit = (min_saving_ms or 0.0) * 1e3
    if graphs:
        def plan_imports(imports: list[Change], programs: list[Group]):
            return plan_groups(report, imports, blocked, graphs, limit, include_all, programs)
    else:
        def plan_imports(imports: list[Change], programs: list[Group]):
            return single_groups(imports) + programs, []
    def pinned(planned: list[Change]) -> list[tuple[Change, str]]:
        return star_pinned(report, planned, observed)

    groups, files = _settle(changes, companions, skipped, render, plan_imports, blocked,
                            pinned)
    changes = [c for g in groups for c in g.changes]
    result = FixResult(report, changes, skipped, files, runtime, refused=refused,
                       plan="joint" if graphs else "sites", groups=groups, plan_note=plan_note)
    if not (verify or write):
        return result
    measured = any(e.measured for e in report.entries)
    trials = None
    if trial and write and remeasure and measured and result.changes:
        # the audit's own trial (`--trial` ran it on the original code) gives B and T
        trials = {e.name: e.trial for e in report.entries
                  if e.measured and e.trial is not None}
        if len(trials) < sum(1 for e in report.entries if e.measured):
            from ._remeasure import trial_bounds

            trials = trial_bounds(report, target, tests, python=python, runs=runs,
                                  progress=progress)
    disk = _Disk(sources, [_stub_path(p) for p in packages if not had_stub[p]])
    if verify and result.changes:
        _verify(result, render, disk, verify, verify_timeout, keep=write, progress=progress,
                project=project)
    elif verify:  # nothing changed: the tests would check the files as they are, 0 runs
        result.verification = Verification(verify)
        result.written = write
    else:
        disk.write(files)
        result.written = True
    if result.written and result.changes:
        if not remeasure:
            result.remeasure_note = "not profiled again (--no-remeasure)"
        elif measured:
            from ._remeasure import remeasure_written

            remeasure_written(result, target, tests, render, disk, python=python, runs=runs,
                              progress=progress, trials=trials)
    return result


def _settle(changes: list[Change], companions: list[tuple[Change, list[Change]]],
            skipped: list[Skipped], render, plan_imports, blocked: set[tuple[str, int]],
            pinned: Callable[[list[Change]], list[tuple[Change, str]]]
            ) -> tuple[list[Group], list[FileChange]]:
    """Plan the groups and render them. A change the rewrite cannot make, or a lazy
    re-export that what is planned still reads at import (`pinned`: judged on the plan, as
    the planner may leave a reader's statement in place), is dropped (with a removal that
    needed its program change), its statement's edges stay (`blocked`), and the groups are
    planned again without it: each round drops at least one change."""
    from .codemods import program_action

    removals = {id(r) for r, _ in companions}
    while True:
        kept = {id(c) for c in changes}
        programs = [c for c in changes if program_action(c) is not None]
        live = [(r, owners) for r, owners in companions
                if id(r) in kept and all(id(o) in kept for o in owners)]
        replaced = {id(r.site) for r, _ in live}  # a live removal replaces a planned move
        imports = [c for c in changes if program_action(c) is None and id(c) not in removals
                   and id(c.site) not in replaced]
        groups, left = plan_imports(imports, program_groups(programs, live))
        dropped = pinned([c for g in groups for c in g.changes])
        files = []
        if not dropped:
            files, dropped = render([c for g in groups for c in g.changes])
        if not dropped:
            skipped.extend(left)
            return groups, files
        for change, why in dropped:
            skipped.append(Skipped(change.site, why))
            blocked.add((change.site.file, change.site.line))
        changes = [c for c in changes if all(c is not d for d, _ in dropped)]


def _project_directory(target: str, report: AuditReport) -> str:
    """The directory a symlinked file must resolve into to be written: what the user named."""
    if os.path.isdir(target):
        return os.path.realpath(target)
    if os.path.exists(target):
        return os.path.dirname(os.path.realpath(target))
    folders = [os.path.dirname(p) for p in report.paths.values()]
    return os.path.realpath(os.path.commonpath(folders)) if folders else os.getcwd()


def _read_sources(changes: list[Change], project: str
                  ) -> tuple[dict[str, Source], list[Refused]]:
    """Each changed file that may be written, by audited path, and the ones refused."""
    sources: dict[str, Source] = {}
    refused: list[Refused] = []
    reasons: dict[str, Refused] = {}
    for change in changes:
        if change.path in sources or change.path in reasons:
            continue
        found = read_source(change.path, project)
        if isinstance(found, str):
            reasons[change.path] = Refused(change.site.file, found)
            refused.append(reasons[change.path])
        else:
            sources[change.path] = found
    # One file under two names (a symlink to another file of the project): the link is
    # refused, so the file is rewritten once, as the module it is under its own name.
    by_real: dict[str, list[str]] = defaultdict(list)
    for path, source in sources.items():
        by_real[source.real].append(path)
    for real, paths in by_real.items():
        if len(paths) > 1:
            keep = real if real in paths else paths[0]
            for path in paths:
                if path != keep:
                    del sources[path]
                    shown = next(c.site.file for c in changes if c.path == path)
                    reasons[path] = Refused(shown, f"a symlink to {keep}, which is fixed "
                                                   "under its own name")
                    refused.append(reasons[path])
    for change in changes:
        if change.path in reasons:
            reasons[change.path].changes += 1
    return sources, refused


def _stub_path(init: str) -> str:
    return os.path.join(os.path.dirname(init), "__init__.pyi")


class _Disk:
    """The project's files as `fix` writes them: originals, or a set of `FileChange`s."""

    def __init__(self, sources: dict[str, Source], new_stubs: list[str]) -> None:
        self.sources = sources
        self.files = Files()
        for source in sources.values():
            self.files.track(source.real, source.raw, source.path)
        for stub in new_stubs:
            self.files.track(stub, None)
        self.original = dict(self.files.current)

    def write(self, changes: list[FileChange], durable: bool = True) -> None:
        """The originals, but `changes`, all or none."""
        wanted = dict(self.original)
        for change in changes:
            source = self.sources[change.path]
            wanted[source.real] = source.encode(change.after)
            if change.stub is not None and change.stub_path is not None:
                wanted[change.stub_path] = change.stub.encode("utf-8")
        self.files.apply(wanted, durable=durable)

    def restore(self) -> None:
        """Every file as it was; one changed on disk meanwhile (by the user, or by the
        tests) is left as it is now, and named."""
        left = self.files.apply(self.original, keep_changed=True)
        if left:
            raise HotstartError(f"restored every file but {', '.join(left)}: changed on disk "
                                f"while fix was working, left as it is now (check it with "
                                f"`git diff`)")


def _verify(result: FixResult, render, disk: _Disk, command: str, timeout: float | None,
            keep: bool, progress: Callable[[str], None] | None, project: str) -> None:
    from ._check_scope import check_scope
    from ._typehints import HintCheck, compare_hints, interpreter_for, unchecked
    from .codemods import PROGRAM_CODEMODS, program_action, program_codemod

    say = progress or (lambda message: None)
    verification = Verification(command)
    result.verification = verification
    say(f"verify: run 1, {command!r} on the original files")
    baseline = run_command(command, timeout=timeout)
    verification.runs += 1
    verification.baseline = baseline
    if not baseline.ok:
        last = baseline.tail(1).strip()
        how = (f"timed out after {timeout:g} s" if baseline.timed_out
               else f"exit {baseline.code}" + (f": {last}" if last else ""))
        raise HotstartError(f"--verify {command!r} fails before any change ({how}); make it "
                            f"pass first")
    modules = {c.site.module: c.path for c in result.changes
               if program_action(c) is None and any(f.path == c.path for f in result.files)}
    hints = HintCheck(command, modules, timeout) if modules else None
    hints_before = hints.take() if hints else {}
    if isinstance(hints_before, str):
        verification.hints_unchecked = [hints_before]
        hints = None
    else:
        verification.hints_unchecked = unchecked(hints_before)
    # Each program codemod's own equivalence check (caller names, help bytes), taken on the
    # original files like the type hints, and again after each trial.
    checks = []
    for select in PROGRAM_CODEMODS:
        mine = [c for c in result.changes if program_action(c) == select]
        if mine:
            check_class = getattr(program_codemod(select), PROGRAM_CODEMODS[select][1])
            checker = check_class(project, mine, interpreter_for(command), timeout)
            taken = checker.take()
            if isinstance(taken, str):
                verification.hints_unchecked.append(f"{select}: {taken}")
            else:
                checks.append((checker, taken, select, check_scope(result.report, mine)))
    units = result.groups

    def checks_for(changes: list[Change] | None) -> list[tuple]:
        """The program checks a trial of `changes` needs: a codemod's own changes, or an
        import change in a module its program can import (or any, when that is not known).
        None: the final check, which takes every check."""
        if changes is None:
            return checks
        modules = {c.site.module for c in changes if program_action(c) is None}
        return [check for check in checks
                if any(program_action(c) == check[2] for c in changes)
                or check[3] is None or modules & check[3]]

    def checks_said(changes: list[Change] | None) -> str:
        names = ["tests"] + (["type hints"] if hints is not None else [])
        names += [_CHECK_NAMES.get(check[2], check[2]) for check in checks_for(changes)]
        return ", ".join(names)
    total = len(units)
    depth_limit = max(1, math.ceil(math.log2(total))) if total else 1

    failed_in: list[object] = [None]  # the stage whose check failed the last run

    def check(files: list[FileChange], changes: list[Change] | None, durable: bool = False,
              stage: object = _EVERY_CHECK) -> CommandResult:
        """Run the checks of `stage` (`_EVERY_CHECK`, `_TESTS`: the command and the type
        hints, or one program check) on `files` written for the trial of `changes`."""
        failed_in[0] = None
        outcome = CommandResult(True, 0, "")
        if stage is not _EVERY_CHECK and stage is not _TESTS and all(
                c[0] is not stage for c in checks_for(changes)):
            return outcome  # these changes cannot change what that check sees
        disk.write(files, durable=durable)  # not durable: a state tried for one run
        verification.runs += 1
        if stage is _EVERY_CHECK or stage is _TESTS:
            outcome = run_command(command, timeout=timeout)
            if outcome.ok and hints is not None:
                after = hints.take()
                outcome = compare_hints(hints_before, after) if not isinstance(after, str) \
                    else CommandResult(False, None, f"type hints: {after}")
            if not outcome.ok:
                failed_in[0] = _TESTS
        for checker, before, _select, _scope in checks_for(changes):
            if not outcome.ok:
                break
            if stage is not _EVERY_CHECK and stage is not checker:
                continue
            after = checker.take()
            outcome = checker.compare(before, after) if not isinstance(after, str) \
                else CommandResult(False, None, after)
            if not outcome.ok:
                failed_in[0] = checker
        return outcome

    def stage_said(stage: object, changes: list[Change]) -> str:
        if stage is _TESTS:
            return ", ".join(["tests"] + (["type hints"] if hints is not None else []))
        if stage is _EVERY_CHECK:
            return checks_said(changes)
        return next(_CHECK_NAMES.get(c[2], c[2]) for c in checks if c[0] is stage)

    def bisect(units: list[Group], stage: object, known: CommandResult | None = None
               ) -> list[tuple[Group, CommandResult]]:
        def on_trial(candidates: list[Group], depth: int) -> None:
            run = verification.runs + 1
            count = sum(len(g.changes) for g in candidates)
            said = stage_said(stage, [c for g in candidates for c in g.changes])
            if depth == 0:
                say(f"verify: run {run}, all {count} change(s) ({said})")
                return
            names = ", ".join(_label(g.changes[0], result.changes) for g in candidates[:2])
            more = f" (+{count - 2} more)" if count > 2 else ""
            say(f"verify: run {run}, bisection step {depth} of ~{depth_limit}: trying "
                f"{count} change(s): {names}{more} ({said})")

        def test(subset: list[Group]) -> CommandResult:
            changes = [c for g in subset for c in g.changes]
            return check(render(changes)[0], changes, stage=stage)

        # a group is kept or reverted whole
        return find_culprits(units, test, on_trial, known=known)

    try:
        # One check at a time, the project's tests first: a bisection step then runs only
        # the check being bisected (the help of every subcommand is not printed again while
        # the tests look for their culprit). The kept changes must then pass every check at
        # once; if they do not (one check's culprits hid another's), every check bisects
        # the rest together, as one.
        culprits: list[tuple[Group, CommandResult]] = []
        stages = (_TESTS, *(c[0] for c in checks))
        every = [c for g in units for c in g.changes]
        if units:
            say(f"verify: run {verification.runs + 1}, all {len(every)} change(s) "
                f"({checks_said(every)})")
        whole = check(render(every)[0], every) if units else CommandResult(True, 0, "")
        # what the run of every change says of each stage: passed before the one that
        # failed, failed there, not run after it
        known = {}
        for stage in stages:
            known[stage] = whole if whole.ok or failed_in[0] is stage else None
            if failed_in[0] is stage:
                break
            known[stage] = known[stage] or CommandResult(True, 0, "")
        for attempt in (stages, (_EVERY_CHECK,)):
            for stage in attempt:
                remaining = [g for g in units if all(g is not b for b, _ in culprits)]
                culprits += bisect(remaining, stage, known.pop(stage, None))
            bad_groups = [g for g, _ in culprits]
            good_groups = [g for g in units if all(g is not b for b in bad_groups)]
            good = [c for g in good_groups for c in g.changes]
            bad = [c for g in bad_groups for c in g.changes]
            files, _ = render(good)
            say(f"verify: run {verification.runs + 1}, the {len(good)} change(s) kept "
                f"({len(bad)} reverted; {checks_said(None)})")
            final = check(files, None, durable=keep)  # kept with --write: flushed to disk
            if final.ok or len(stages) == 1 or not culprits:
                break
        verification.reverted = [(c.id, r.failure()) for g, r in culprits
                                 for c in g.changes]
        verification.final = final
        if not final.ok:
            raise HotstartError(f"--verify {command!r} still fails after reverting "
                                f"{len(bad)} change(s) (flaky tests?); every file was restored")
        result.reverted = bad
        result.changes = good
        result.groups = good_groups
        result.files = files
        if keep:
            disk.write(files)
        else:
            disk.restore()
        result.written = keep
    except BaseException:
        disk.restore()
        raise


#: `--verify`'s stages: every check at once, or the tests (with the type hints) alone.
_EVERY_CHECK, _TESTS = object(), object()

#: How the progress line names each program codemod's check.
_CHECK_NAMES = {"cli": "help output", "hot-calls": "caller names"}


def _label(change: Change, changes: list[Change]) -> str:
    """The change's id, with its names when other changes share its statement."""
    if sum(1 for c in changes if c.id == change.id) < 2:
        return change.id
    return f"{change.id} ({', '.join(n.name for n in change.site.names)})"
