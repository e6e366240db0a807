"""Run the audit: scan, link, classify, find hot spots, reach, and measure."""

from __future__ import annotations

import os
import shlex
import time
from collections.abc import Callable, Sequence

from ..errors import BadInput
from ._pinning import advise_pinned
from ._project import decode_source, find_project, name_modules, read_source
from ._scan import ModuleScan, scan_module, scan_patches, scan_test_attribute_reads
from .classify import classify_sites, link_cross_module_uses, release_preloaded_effects
from .effects import EffectModel
from .graph import EntrySpec, StaticGraph, entry_script, parse_entry
from .hotspots import find_hotspots
from .model import AuditReport, Entry
from .safety import mark_subclass_hooks
from .savings import apply_savings

__all__ = ["audit", "parse_version"]

_SUPPORTED = ((3, 11), (3, 15))


def parse_version(text: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """`3.11` or `3.11..3.15` -> ((3, 11), (3, 15)); `3.12` alone means 3.12 and newer."""
    low, sep, high = text.partition("..")

    def one(part: str) -> tuple[int, int]:
        try:
            major, minor = (int(x) for x in part.strip().split("."))
        except ValueError:
            raise BadInput(f"--target-version {text!r}: expected 3.N or 3.N..3.M, e.g. "
                           f"3.11 or 3.11..3.15") from None
        if not _SUPPORTED[0] <= (major, minor) <= _SUPPORTED[1]:
            raise BadInput(f"--target-version {text!r}: hotstart supports 3.11 to 3.15")
        return major, minor

    first = one(low)
    last = one(high) if sep else _SUPPORTED[1]
    if last < first:
        raise BadInput(f"--target-version {text!r}: the range is empty")
    return first, last


def audit(target: str, *, entries: Sequence[str] = (), profiles: Sequence[str] = (),
          tests: Sequence[str] = (), target_version: str = "3.11", run: bool = True,
          runs: int = 3, python: str | None = None, timeout: float = 300.0,
          progress: Callable[[str], None] | None = None, trial: bool = False) -> AuditReport:
    """Audit the project at `target` (a directory, a file or an importable package name).

    `entries` are entrypoints (`-m pkg.cli interface`, `-c CODE`, `script.py`, a module
    name); each is profiled unless `run` is false. `profiles` are saved `hotstart profile -o`
    files. `tests` are extra test directories to read for `patch("mod.Name")`. With
    `trial`, each measured entry also gets a lazy trial, whose evidence the sites carry
    (`_evidence`).
    """
    started = time.perf_counter()
    project = find_project(target, list(tests))
    low, _high = parse_version(target_version)
    errors: list[str] = []
    if project.skipped:
        errors.append(f"skipped {len(project.skipped)} file(s) that are not regular files in "
                      f"the project: {', '.join(project.skipped)}")
    sources = _read_sources(project, errors)
    scripts = [entry_script(shlex.split(text)[0], project.directory) for text in entries
               if _is_script_entry(text)]
    aliases = name_modules(project, sources, scripts)
    scans: dict[str, ModuleScan] = {}
    test_scans: list[ModuleScan] = []
    paths: dict[str, str] = {}
    for source_file in project.files:
        raw = sources.get(source_file.path)
        if raw is None:
            continue
        try:
            source = decode_source(raw)
            if source_file.test:
                scan = ModuleScan(source_file.module, source_file.shown, source_file.path,
                                  source_file.is_package, [])
                scan.patches = scan_patches(source)
                scan.attribute_reads = scan_test_attribute_reads(source, scan.attribute_writes)
                test_scans.append(scan)
                continue
            scan = scan_module(source_file.module, source_file.shown, source_file.path, source,
                               is_package=source_file.is_package,
                               lazy_annotations=low >= (3, 14))
        except SyntaxError as exc:
            line = f":{exc.lineno}" if exc.lineno else ""  # none for a bad encoding
            errors.append(f"{source_file.shown}{line}: cannot parse ({exc.msg})")
            continue
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            errors.append(f"{source_file.shown}: cannot read ({exc})")
            continue
        if source_file.test:
            test_scans.append(scan)
        elif source_file.module not in scans:
            scans[source_file.module] = scan
            paths[source_file.shown] = source_file.path
    del sources
    _link_aliases(scans, test_scans, aliases)
    link_cross_module_uses(scans, test_scans)
    mark_subclass_hooks(scans)
    effects = EffectModel(scans, project.search_path + project.roots)
    sites = classify_sites(scans, effects, low)
    hotspots = find_hotspots(scans)
    graph = StaticGraph(scans)

    report = AuditReport(root=project.shown_root, package=project.package, files=len(scans),
                         sites=sites, hotspots=hotspots, target_version=target_version,
                         errors=errors, paths=paths)
    specs = [parse_entry(text, scans, project.directory, python) for text in entries]
    if not specs and not profiles and project.package:
        specs = [parse_entry(project.package, scans)]
    for spec in specs:
        report.entries.append(_static_entry(spec, graph))
    if run:
        measured = []
        for spec, entry in zip(specs, report.entries):
            if spec.name == project.package and not entries:
                continue  # the default entry (the package itself) is reach only
            if progress:
                progress(f"profiling {spec.name}")
            measured.append((spec, entry, *_measure(spec, project, runs, python, timeout)))
        # Effects the entries had performed before a site ran are not that site's.
        sites[:] = release_preloaded_effects(sites, scans, effects, low,
                                             [m[2] for m in measured], paths)
        for spec, entry, process, executed in measured:
            apply_savings(sites, hotspots, entry, process, paths, executed,
                          ran=_entry_files(spec, scans))
        if trial:
            from ._evidence import run_trials

            run_trials(report, [(m[1], m[0].kind, m[0].value, m[0].args) for m in measured],
                       *_run_setting(project), runs=runs, python=python, timeout=timeout,
                       progress=progress)
    for path in profiles:
        from ..measure.io import load_profile

        profile = load_profile(path)
        if not profile.processes:
            raise BadInput(f"{path}: the profile has no traced process")
        process = profile.main
        argv = list(process.argv)
        if argv and os.path.basename(argv[0]).startswith("python"):
            argv = argv[1:]
        try:
            spec = parse_entry(shlex.join(argv), scans)
        except BadInput:
            spec = EntrySpec(shlex.join(argv), [], "command", argv[0] if argv else "", ())
        entry = _static_entry(spec, graph)
        entry.profile = path
        report.entries.append(entry)
        apply_savings(sites, hotspots, entry, process, paths, ran=_entry_files(spec, scans))

    advise_pinned(sites, scans)
    for site in sites:
        if site.klass == "side-effect":
            for line in site.effects:
                module, _, what = line.partition(": ")
                report.effects.setdefault(module, [])
                if what not in report.effects[module]:
                    report.effects[module].append(what)
    deferred = sum(len(s.deferred) for s in scans.values())
    guarded = sum(1 for s in scans.values() for site in s.sites if site.guard == "TYPE_CHECKING")
    lazy = sum(1 for s in scans.values() for site in s.sites if site.guard == "lazy")
    report.notes.append(f"{deferred} imports are already inside functions, {guarded} under "
                        f"TYPE_CHECKING, {lazy} lazy (PEP 810); they are not listed")
    if test_scans:
        patches = sum(len(t.patches) for t in test_scans)
        report.notes.append(f"read {len(test_scans)} test files for patched names "
                            f"({patches} patches)")
    report.seconds = time.perf_counter() - started
    return report


def _static_entry(spec: EntrySpec, graph: StaticGraph) -> Entry:
    reach, first_party = graph.external_reach(spec.roots) if spec.roots else ([], 0)
    return Entry(spec.name, [r[0] for r in spec.roots], reach, first_party)


def _measure(spec: EntrySpec, project, runs: int, python: str | None, timeout: float):
    """Profile one entry (in the project's directory). An entry that cannot be run or
    measured is an error: an audit never falls back to a static one silently."""
    from ..measure.runner import Target, failure_message, profile
    from ._executed import executed_functions

    env, cwd = _run_setting(project)
    try:
        result = profile(Target(spec.kind, spec.value, spec.args), runs=runs, timeout=timeout,
                         python=python, env=env, cwd=cwd)
    except BadInput as exc:
        if str(exc).startswith("--python"):
            raise
        raise BadInput(f"--entry {spec.name!r}: {exc}; fix the entry or pass --static") from None
    failure = failure_message(result, timeout)
    if failure or not result.processes:
        raise BadInput(f"--entry {spec.name!r}: {failure or 'no Python process traced'}; "
                       f"fix the entry or pass --static")
    kind, value = spec.kind, spec.value
    if kind == "command" and spec.script:
        kind, value = "script", spec.script
    executed = executed_functions(kind, value, spec.args, [project.root, *project.roots], env,
                                  python=python, timeout=timeout, cwd=cwd)
    return result.main, executed


def _run_setting(project) -> tuple[dict[str, str], str | None]:
    """The environment and directory an entry of the project runs in."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (*project.search_path, env.get("PYTHONPATH")) if p)
    return env, project.directory or None


def _read_sources(project, errors: list[str]) -> dict[str, bytes]:
    """The bytes of every file of the project, by path; an unreadable one is one line in
    `errors`."""
    sources: dict[str, bytes] = {}
    for source_file in project.files:
        try:
            sources[source_file.path] = read_source(source_file.path)
        except OSError as exc:
            errors.append(f"{source_file.shown}: cannot read "
                          f"({exc.strerror or 'not a regular file'})")
    return sources


def _is_script_entry(text: str) -> bool:
    try:
        words = shlex.split(text)
    except ValueError:
        return False
    return bool(words) and words[0].endswith(".py")


def _link_aliases(scans: dict[str, ModuleScan], tests: list[ModuleScan],
                  aliases: dict[str, list[str]]) -> None:
    """A module reachable under two names (`entrypoint` and `workers.x.entrypoint`): a test
    patching `entrypoint.restoration`, or a module importing from `entrypoint`, is matched
    under the name the audit uses too."""
    if not aliases:
        return

    def canonical(dotted: str) -> list[str]:
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):
            head = ".".join(parts[:cut])
            if head in scans:
                return []
            if head in aliases:
                rest = parts[cut:]
                return [".".join([name, *rest]) for name in aliases[head]]
        return []

    for test in tests:
        test.patches.extend((name, line) for dotted, line in list(test.patches)
                            for name in canonical(dotted))
    for reader in (*scans.values(), *tests):
        reader.attribute_reads.extend((name, line) for dotted, line in
                                      list(reader.attribute_reads) for name in canonical(dotted))
        reader.attribute_writes.extend((name, line) for dotted, line in
                                       list(reader.attribute_writes) for name in canonical(dotted))
    for scan in scans.values():
        scan.from_imports.extend((name, imported, line)
                                 for module, imported, line in list(scan.from_imports)
                                 for name in canonical(module))


def _entry_files(spec: EntrySpec, scans: dict[str, ModuleScan]) -> set[str]:
    """Files an entry runs without importing them (its script, its `-m` module)."""
    files = {spec.value} if spec.kind == "script" else set()
    if spec.script:
        files.add(spec.script)
    if spec.kind == "module":
        for name in (spec.value, f"{spec.value}.__main__"):
            if name in scans:
                files.add(scans[name].path)
    return {os.path.realpath(f) for f in files}
