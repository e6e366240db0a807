"""Checks of a fixed copy against the original, for `bench_audit.py`: its public names, its
files (is a second `fix` a no-op?) and `typing.get_type_hints` of every changed module."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from _audit_targets import Target

SKIP_DIRS = {"__pycache__", ".pytest_cache"}


# --- files ----------------------------------------------------------------------------------


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under root (not caches), by relative path, with its bytes."""
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*"))
            if path.is_file() and not SKIP_DIRS.intersection(path.relative_to(root).parts)}


def differing(old: dict[str, bytes], new: dict[str, bytes]) -> list[str]:
    """Files added, removed or changed between two snapshots."""
    return sorted(name for name in old.keys() | new.keys() if old.get(name) != new.get(name))


def changed_modules(target: Target, copy, files: list[str]) -> list[tuple[str, str]]:
    """(sys.path entry, module name) of each changed .py file, as the code imports it: a
    package module from the copy's PYTHONPATH, a script by its name from its own directory."""
    out = []
    for name in files:
        path = copy.root / name
        if path.suffix != ".py":
            continue
        if target.kind == "fixture":
            out.append((str(path.parent), path.stem))
            continue
        parts = list(path.relative_to(copy.path).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out.append((str(copy.path), ".".join(parts)))
    return out


# --- typing.get_type_hints ------------------------------------------------------------------

HINTS_CODE = r"""
import importlib, inspect, json, sys, typing, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, sys.argv[1])
out = {}

def hints(key, obj):
    try:
        out[key] = repr(typing.get_type_hints(obj, include_extras=True))
    except BaseException as exc:
        out[key] = "!%s: %s" % (type(exc).__name__, str(exc)[:200])

def walk(prefix, cls, module, depth=0):
    hints(prefix, cls)
    for attr, value in list(vars(cls).items()):
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if isinstance(value, property):
            for part in ("fget", "fset", "fdel"):
                if getattr(value, part) is not None:
                    hints(f"{prefix}.{attr}.{part}", getattr(value, part))
        elif inspect.isfunction(value):
            hints(f"{prefix}.{attr}", value)
        elif inspect.isclass(value) and value.__module__ == module and depth < 3 \
                and value.__qualname__.startswith(cls.__qualname__ + "."):
            walk(f"{prefix}.{attr}", value, module, depth + 1)

for name in sys.argv[2:]:
    try:
        module = importlib.import_module(name)
    except BaseException as exc:
        out[name] = "!import %s: %s" % (type(exc).__name__, str(exc)[:200])
        continue
    hints(name, module)
    for attr, value in list(vars(module).items()):
        value = getattr(value, "py_func", value)   # a numba dispatcher: its Python function
        if getattr(value, "__module__", None) != name:
            continue
        if inspect.isclass(value):
            walk(f"{name}.{attr}", value, name)
        elif inspect.isfunction(value):
            hints(f"{name}.{attr}", value)
sys.stdout.write("\n" + json.dumps(out) + "\n")
"""


def type_hints(modules: list[tuple[str, str]], env: dict[str, str], cwd: Path) -> dict:
    """get_type_hints(include_extras=True) of each module and of every class, function and
    method defined in it, as strings ('!Error: ...' when it raises); one fresh interpreter per
    sys.path entry (scripts of different directories may share a name), keyed by
    '<directory>/<qualified name>' for scripts."""
    groups: dict[str, list[str]] = defaultdict(list)
    for entry, name in modules:
        groups[entry].append(name)
    out: dict[str, str] = {}
    for entry, names in groups.items():
        done = subprocess.run([sys.executable, "-c", HINTS_CODE, entry, *names], env=env,
                              cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
        try:
            found = json.loads(done.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            found = {name: "!scan failed: " + done.stderr[-300:] for name in names}
        where = "" if len(groups) == 1 else Path(entry).name + "/"
        out.update({where + key: value for key, value in found.items()})
    return out


def compare_hints(before: dict[str, str], after: dict[str, str]) -> dict:
    """Objects whose hints differ or that are gone, with both values; new objects apart (a
    lazy re-export adds the module's `__getattr__` and `__dir__`)."""
    diffs = [(key, value, after.get(key, "(absent)")) for key, value in sorted(before.items())
             if after.get(key) != value]
    return {"objects": len(before), "diffs": diffs,
            "added": sorted(after.keys() - before.keys()),
            "errors_before": sum(v.startswith("!") for v in before.values())}


# --- public names -----------------------------------------------------------------------------

API_CODE = r"""
import importlib, json, pkgutil, sys, warnings
warnings.simplefilter("ignore")
package = sys.argv[1]
root = importlib.import_module(package)
names = [package] + [m.name for m in pkgutil.walk_packages(root.__path__, package + ".",
                                                           onerror=lambda name: None)]
out = {}
for name in names:
    parts = name.split(".")[1:]
    if any(p in ("tests", "test", "testing", "conftest", "__main__") or p.startswith("test_")
           for p in parts):
        continue
    try:
        module = importlib.import_module(name)
    except BaseException as exc:
        out[name] = {"error": type(exc).__name__}
        continue
    public = {}
    for attr in dir(module):
        if attr.startswith("_") and attr not in ("__version__", "__author__"):
            continue
        try:
            value = getattr(module, attr)
        except BaseException as exc:
            public[attr] = "!" + type(exc).__name__
            continue
        public[attr] = "module" if isinstance(value, type(sys)) else "value"
    out[name] = {"names": public, "all": [str(n) for n in getattr(module, "__all__", ()) or ()],
                 "package": hasattr(module, "__path__")}
sys.stdout.write("\n" + json.dumps(out) + "\n")
"""


def public_api(target: Target, copy) -> dict:
    """Every non-test module of the copy imported (in one process), with its public names
    (`dir()`, each resolved with getattr, so lazy re-exports are loaded; `__version__` counts
    as public)."""
    done = subprocess.run([sys.executable, "-c", API_CODE, target.package], env=copy.env(),
                          cwd=copy.root, capture_output=True, text=True, timeout=300,
                          check=False)
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        raise RuntimeError(f"public-name scan of {target.package} failed: "
                           f"{done.stderr[-800:]}") from None


def compare_api(before: dict, after: dict) -> dict:
    """Hard breaks: modules that no longer import, names that now raise on access, names
    lost from a package __init__ or from an __all__. Submodules: a package's attribute naming
    its own submodule, which an import in the package bound as a side effect (`import pkg;
    pkg.sub.x` without `import pkg.sub`). Soft: other module attributes that are no longer
    bound (what moving or removing an import does by design)."""
    broken, hard, submodules, soft = [], [], [], []
    for name, old in before.items():
        new = after.get(name, {"error": "missing"})
        if "error" in old:
            continue
        if "error" in new:
            broken.append(f"{name} ({new['error']})")
            continue
        listed = set(old["all"])
        for attr, kind in old["names"].items():
            now = new["names"].get(attr)
            if now is not None and now.startswith("!") and not kind.startswith("!"):
                hard.append(f"{name}.{attr} (now raises {now[1:]})")
            elif now is None and kind == "module" and f"{name}.{attr}" in before:
                submodules.append(f"{name}.{attr}")  # bound as a side effect of an import
            elif now is None and (old["package"] or attr in listed):
                hard.append(f"{name}.{attr}")
            elif now is None:
                soft.append(f"{name}.{attr}")
    return {"modules": sum(1 for v in before.values() if "error" not in v),
            "broken": broken, "hard": hard, "submodules": submodules, "soft": soft}


