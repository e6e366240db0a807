"""
hotstart.testing
================

Test helpers for projects that make their imports lazy.

Laziness moves import errors from ``import pkg`` to first use, and an eager import that
creeps back in undoes the saving without failing anything. Two checks guard against both:

- `import_all_submodules`: import a package and every submodule, resolve every lazy name
  (PEP 562 ``__getattr__`` and PEP 810 lazy imports), and fail listing *every* error.
- `assert_not_imported`: run code in a fresh interpreter and fail if it loaded a forbidden
  module, naming the chain of imports that loaded it.

    def test_every_module_imports():
        hotstart.testing.import_all_submodules("mypkg")

    def test_cli_help_stays_light():
        hotstart.testing.assert_not_imported(["pandas", "torch"], "import mypkg.cli")
"""

import os
import sys
import types

__all__ = ["import_all_submodules", "assert_not_imported"]

#: PEP 810's lazy object type (Python 3.15+), None before.
_LAZY_TYPE = getattr(types, "LazyImportType", None)


def import_all_submodules(package: str, *, resolve_lazy: bool = True,
                          exclude: str | list[str] | tuple[str, ...] = ()) -> list[str]:
    """Import `package` and every submodule below it; return their names, sorted.

    Walks ``__path__`` recursively (subpackages included, with ``pkgutil``), importing each
    module and collecting every failure instead of stopping at the first. With
    `resolve_lazy`, also reads every name in each module's ``__all__`` and ``dir()``, which
    resolves PEP 562 lazy names (`hotstart.lazy.attach`) and PEP 810 lazy imports. If
    anything failed, raises `AssertionError` with one ``module: ExceptionType: message``
    line per failure (``module.name (attribute): ...`` for a name), chained from the first.

    ``__main__`` submodules are skipped (importing one runs the program); `exclude` names
    more modules to skip, each with its submodules.
    """
    import importlib
    import pkgutil

    excluded = (exclude,) if isinstance(exclude, str) else tuple(exclude)

    def skipped(name: str) -> bool:
        return name.rpartition(".")[2] == "__main__" or any(
            name == x or name.startswith(x + ".") for x in excluded)

    failures: list = []  # (what, exception)
    imported: list = []
    seen = {package}

    def load(name: str):
        try:
            module = importlib.import_module(name)
        except (Exception, SystemExit) as exc:
            failures.append((name, exc))
            return None
        imported.append(name)
        return module

    root = load(package)
    pending = [root] if root is not None else []
    while pending:
        module = pending.pop()
        if resolve_lazy:
            _resolve_names(module, failures)
        path = getattr(module, "__path__", None)
        if path is None:
            continue
        for info in sorted(pkgutil.iter_modules(path, module.__name__ + "."),
                           key=lambda info: info.name, reverse=True):
            if skipped(info.name) or info.name in seen:
                continue
            seen.add(info.name)
            child = load(info.name)
            if child is not None:
                pending.append(child)
    if failures:
        lines = [f"{what}: {type(exc).__name__}: {_one_line(exc)}" for what, exc in failures]
        raise AssertionError(f"{len(failures)} import failure(s) under {package!r}:\n"
                             + "\n".join(lines)) from failures[0][1]
    return sorted(set(imported))


def _resolve_names(module, failures: list) -> None:
    """getattr() every name in dir() and __all__, so lazy ones are really imported: PEP 562
    names through the module's __getattr__, PEP 810 lazy objects (3.15+) by module
    attribute access (and `.resolve()` should one come back unresolved)."""
    names = set()
    try:
        names.update(dir(module))
        names.update(getattr(module, "__all__", ()))
    except Exception as exc:  # a broken __dir__ or __all__
        failures.append((f"{module.__name__} (dir)", exc))
    for name in [n for n in names if not isinstance(n, str)]:
        failures.append((f"{module.__name__}.__all__", TypeError(
            f"__all__ contains a {type(name).__name__}, not a name: {name!r}")))
    for name in sorted(n for n in names if isinstance(n, str)):
        try:
            value = getattr(module, name)
            if _LAZY_TYPE is not None and isinstance(value, _LAZY_TYPE):
                value.resolve()  # PEP 810: attribute access normally reifies already
        except (Exception, SystemExit) as exc:
            failures.append((f"{module.__name__}.{name} (attribute)", exc))


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    return " / ".join(part.strip() for part in text.splitlines() if part.strip()) or "-"


# The check runs the code as `python -c` would, and records sys.modules at exit (after
# non-daemon threads finished). It imports only the builtin `atexit`, and hides it again.
_RUNNER = """\
import sys as _hs_sys
_hs_had_atexit = "atexit" in _hs_sys.modules
import atexit as _hs_atexit
def _hs_dump(path=_hs_sys.argv.pop(1), had_atexit=_hs_had_atexit, modules=_hs_sys.modules):
    names = [n for n in list(modules) if n != "atexit" or had_atexit]
    with open(path, "w", encoding="utf-8") as out:
        out.write("\\n".join(names))
_hs_atexit.register(_hs_dump)
_hs_code = compile(_hs_sys.argv.pop(1), "<string>", "exec")
del _hs_sys, _hs_had_atexit, _hs_atexit, _hs_dump
exec(_hs_code)
"""


def assert_not_imported(modules: str | list[str] | tuple[str, ...], code: str = "pass", *,
                        python: str | None = None, cwd: str | os.PathLike[str] | None = None,
                        env: dict[str, str] | None = None) -> None:
    """Fail if running `code` in a fresh interpreter loads any of `modules`.

    `modules` is a name or a list of names; a name also covers its submodules (``"pandas"``
    covers ``"pandas.core"``). `code` runs as ``python -c`` would run it, in `cwd` (so its
    modules are importable from there), with `python` (default: this interpreter) and `env`
    (default: this environment). The default code, ``pass``, checks what the interpreter's
    own start-up loads (``.pth`` files, ``sitecustomize``).

    A cheap run records ``sys.modules`` at exit. Only if it finds a forbidden module is the
    code profiled (`hotstart.measure.runner.profile`), and the `AssertionError` then names,
    for each one, the chain that first loaded it, ``a -> b -> c (file:line)``, and up to
    three other chains that would still load it. If `code` itself fails, raises
    `AssertionError` with its exit status and the tail of its stderr.
    """
    import subprocess
    import tempfile

    forbidden = [modules] if isinstance(modules, str) else list(modules)
    interpreter = python or sys.executable
    run_env = dict(os.environ if env is None else env)
    with tempfile.TemporaryDirectory(prefix="hotstart-testing-") as work:
        out = os.path.join(work, "modules.txt")
        proc = subprocess.run([interpreter, "-c", _RUNNER, out, code], cwd=cwd, env=run_env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              errors="replace")
        if proc.returncode != 0:
            tail = "\n".join(proc.stderr.splitlines()[-20:])
            raise AssertionError(f"python -c {code!r} exited with status "
                                 f"{proc.returncode}:\n{tail}")
        try:
            with open(out, encoding="utf-8") as handle:
                loaded = handle.read().split("\n")
        except FileNotFoundError:
            raise AssertionError(f"python -c {code!r} exited without reporting its modules "
                                 f"(os._exit?)") from None
    found = {name: _covered(name, loaded) for name in forbidden}
    found = {name: hits for name, hits in found.items() if hits}
    if not found:
        return
    lines = [f"forbidden module(s) loaded by python -c {code!r}:"]
    lines += _explain(found, code, interpreter, cwd, run_env)
    raise AssertionError("\n".join(lines))


def _covered(name: str, loaded: list) -> list:
    return sorted(m for m in loaded if m == name or m.startswith(name + "."))


def _explain(found: dict, code: str, python: str, cwd, env: dict) -> list:
    """One block per forbidden module: the chains that loaded it, from a profile run."""
    try:
        from .measure.model import ImportTree
        from .measure.runner import Target, profile
        from .render.why import chains_to

        result = profile(Target("code", code), runs=1, calls=True, python=python,
                         cwd=None if cwd is None else os.fspath(cwd), env=env)
        process = result.main
        tree = ImportTree(process)
    except Exception as exc:  # the chains are a bonus; the finding stands without them
        return [f"  {name}: loaded ({', '.join(hits[:5])}); no import chain: profiling "
                f"failed: {type(exc).__name__}: {exc}" for name, hits in found.items()]
    lines = []
    for name, hits in found.items():
        target = name if name in hits else hits[0]
        shown = ", ".join(hits[:5]) + (f" and {len(hits) - 5} more" if len(hits) > 5 else "")
        lines.append(f"  {name}: loaded ({shown})")
        chain = tree.chain(target)
        if chain:
            site = chain[-1].site
            lines.append("    first loaded through: " + " -> ".join(r.name for r in chain)
                         + (f" ({_short(site)})" if site else ""))
            others = []
            try:
                for links in chains_to(tree, target)[1:4]:
                    head = [links[0].importer] if links[0].importer else []
                    text = " -> ".join(head + [link.named for link in links])
                    last = links[-1].site
                    others.append(text + (f" ({_short(last)})" if last else ""))
            except Exception:
                others = []
            for text in others:
                lines.append("    also imported through: " + text)
        elif target in process.preloaded:
            lines.append("    loaded by the interpreter's own start-up, before the code "
                         "ran (python -c pass loads it too)")
        else:
            lines.append("    (the profiling run did not record how it was loaded)")
    return lines


def _short(site: str, keep: int = 2) -> str:
    path, _, line = site.rpartition(":")
    if not path:
        return site
    return "/".join(path.replace(os.sep, "/").split("/")[-keep:]) + ":" + line
