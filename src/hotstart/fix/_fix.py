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
from ._write import Files, Source, read_source
from .plan import SELECTABLE, Change, Skipped, plan_changes
from .verify import CommandResult, Verification, find_culprits, run_command

__all__ = ["fix", "FixResult", "FileChange", "Refused"]


@dataclass(slots=True)
class FileChange:
    path: str
    shown: str
    before: str
    after: str
    stub_path: str | None = None
    stub: str | None = None
    encoding: str = "utf-8"


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
        report: AuditReport | None = None) -> FixResult:
    """Rewrite the project at `target`. Without `write` nothing on disk changes (with
    `verify`, files are rewritten while the tests run and restored afterwards)."""
    low, _high = parse_version(target_version)
    unknown = [s for s in select if s not in SELECTABLE]
    if unknown:
        raise BadInput(f"--select {','.join(unknown)}: choose from {', '.join(SELECTABLE)}")
    if report is None:
        report = audit(target, entries=entries, profiles=profiles, tests=tests,
                       target_version=target_version, progress=progress)
    if runtime == "auto":
        uses_hotstart = any(s.imported.split(".")[0] == "hotstart" for s in report.sites)
        runtime = "hotstart" if uses_hotstart else "stdlib"
    changes, skipped = plan_changes(report, report.paths, select=tuple(select), target=low,
                                    defer=defer, runtime=runtime, min_saving_ms=min_saving_ms,
                                    include_all=include_all)
    project = _project_directory(target, report)
    sources, refused = _read_sources(changes, project)
    changes = [c for c in changes if c.path in sources]
    packages = {report.paths[s.file]: s.module for s in report.sites if s.package_init}
    # Whether each package had its own __init__.pyi before anything was written: `--verify`
    # writes ours between renders, and must not then take it for the project's (lexists:
    # a dangling link there is not ours to replace either).
    had_stub = {path: os.path.lexists(_stub_path(path)) for path in packages}

    def render(subset: Sequence[Change]) -> tuple[list[FileChange], list[tuple[Change, str]]]:
        from .codemods import rewrite

        grouped: dict[str, list[Change]] = defaultdict(list)
        for change in subset:
            grouped[change.path].append(change)
        files, dropped = [], []
        for path, group in grouped.items():
            source = sources[path]
            result = rewrite(source.text, group, runtime=runtime, package=packages.get(path),
                             has_stub=had_stub.get(path, False))
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

    files, dropped = render(changes)
    for change, why in dropped:
        skipped.append(Skipped(change.site, why))
    changes = [c for c in changes if all(c is not d for d, _ in dropped)]
    result = FixResult(report, changes, skipped, files, runtime, refused=refused)
    if not (verify or write):
        return result
    disk = _Disk(sources, [_stub_path(p) for p in packages if not had_stub[p]])
    if verify and result.changes:
        _verify(result, render, disk, verify, verify_timeout, keep=write, progress=progress)
    elif verify:  # nothing changed: the tests would check the files as they are, 0 runs
        result.verification = Verification(verify)
        result.written = write
    else:
        disk.write(files)
        result.written = True
    return result


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
            keep: bool, progress: Callable[[str], None] | None) -> None:
    from ._typehints import HintCheck, compare_hints, unchecked

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
               if any(f.path == c.path for f in result.files)}
    hints = HintCheck(command, modules, timeout) if modules else None
    hints_before = hints.take() if hints else {}
    if isinstance(hints_before, str):
        verification.hints_unchecked = [hints_before]
        hints = None
    else:
        verification.hints_unchecked = unchecked(hints_before)
    total = len(result.changes)
    depth_limit = max(1, math.ceil(math.log2(total))) if total else 1

    def check(files: list[FileChange], durable: bool = False) -> CommandResult:
        disk.write(files, durable=durable)  # not durable: a state tried for one run
        verification.runs += 1
        outcome = run_command(command, timeout=timeout)
        if outcome.ok and hints is not None:
            after = hints.take()
            outcome = compare_hints(hints_before, after) if not isinstance(after, str) \
                else CommandResult(False, None, f"type hints: {after}")
        return outcome

    def on_trial(candidates: list[Change], depth: int) -> None:
        run = verification.runs + 1
        if depth == 0:
            say(f"verify: run {run}, all {len(candidates)} change(s)")
            return
        names = ", ".join(_label(c, result.changes) for c in candidates[:2])
        more = f" (+{len(candidates) - 2} more)" if len(candidates) > 2 else ""
        say(f"verify: run {run}, bisection step {depth} of ~{depth_limit}: trying "
            f"{len(candidates)} change(s): {names}{more}")

    try:
        def test(subset: list[Change]) -> CommandResult:
            return check(render(subset)[0])

        culprits = find_culprits(result.changes, test, on_trial)
        bad = [c for c, _ in culprits]
        verification.reverted = [(c.id, r.tail()) for c, r in culprits]
        good = [c for c in result.changes if all(c is not b for b in bad)]
        files, _ = render(good)
        say(f"verify: run {verification.runs + 1}, the {len(good)} change(s) kept "
            f"({len(bad)} reverted)")
        final = check(files, durable=keep)  # kept with --write: then flushed to disk
        verification.final = final
        if not final.ok:
            raise HotstartError(f"--verify {command!r} still fails after reverting "
                                f"{len(bad)} change(s) (flaky tests?); every file was restored")
        result.reverted = bad
        result.changes = good
        result.files = files
        if keep:
            disk.write(files)
        else:
            disk.restore()
        result.written = keep
    except BaseException:
        disk.restore()
        raise


def _label(change: Change, changes: list[Change]) -> str:
    """The change's id, with its names when other changes share its statement."""
    if sum(1 for c in changes if c.id == change.id) < 2:
        return change.id
    return f"{change.id} ({', '.join(n.name for n in change.site.names)})"
