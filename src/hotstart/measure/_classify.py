"""Where a module came from: kind, distribution, and whether it was loaded from `.pyc`.

Runs in the hotstart process after the target exited, from what the tracer wrote (each
module's origin, the target interpreter's stdlib directory, `sys.path` and cache tag), so the
target pays nothing for it and the answers are about the target's environment, not ours.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

__all__ = ["origin_of", "kind_of", "project_roots", "distribution_of", "bytecode_of"]

_EXTENSION = re.compile(r"\.(so|pyd|dylib)$|\.cpython-[^/\\]*\.so$|\.abi3\.so$")
_SITE_DIRS = ("site-packages", "dist-packages")
_PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git", ".hg")


def origin_of(origin: str, name: str, stdlib_dir: str | None, search_path: list[str],
              roots: tuple[str, ...] | None) -> tuple[str, str | None]:
    """(kind, distribution) of a module, from its origin as the tracer recorded it.

    A module outside the project that an installed distribution owns (an editable install
    of another checkout) is third-party; one that nothing owns is external."""
    if not origin:
        return "first-party", None
    kind = kind_of(origin, stdlib_dir, roots)
    if kind in ("third-party", "extension") or origin.startswith("namespace:"):
        return kind, distribution_of(origin, name)
    if kind in ("first-party", "external"):
        distribution = editable_distribution(name, search_path)
        if distribution and kind == "external":
            kind = "third-party"
        return kind, distribution
    return kind, None


def kind_of(origin: str, stdlib_dir: str | None, roots: tuple[str, ...] | None = None) -> str:
    """One of `model.KINDS` for a module origin as the tracer recorded it.

    First-party means under one of the target's project `roots` (see `project_roots`);
    anything else not installed and not stdlib is external. Without roots (not known),
    everything that is neither is first-party."""
    if origin == "built-in":
        return "builtin"
    if origin == "frozen":
        return "frozen"
    if origin.startswith("namespace:"):
        origin = origin[len("namespace:"):].split("|")[0]
    if _EXTENSION.search(origin):
        return "extension"
    parts = set(re.split(r"[/\\]", origin))
    if parts & set(_SITE_DIRS):
        return "third-party"
    if stdlib_dir and origin.startswith(stdlib_dir.rstrip("/\\") + os.sep):
        return "stdlib"
    if roots is None:
        return "first-party"
    paths = {origin, os.path.realpath(origin)}
    if any(path.startswith(root) for path in paths for root in roots):
        return "first-party"
    return "external"


def project_roots(header: dict, reports: list[dict]) -> tuple[str, ...] | None:
    """The target's own project, as directory prefixes (each ending in a separator).

    From the tracer's records: the working directory, the script's directory (from the
    command line) and the directory of the `__main__` module's file (the script, or the
    module of -m). Each counts from its nearest ancestor holding a project marker
    (pyproject.toml, setup.py, setup.cfg, .git, .hg), searching no higher than below the
    home directory; `/` is never a root. None when the records say nothing (older trace
    files).
    """
    cwd = header.get("cwd") if isinstance(header.get("cwd"), str) else None
    starts = [cwd] if cwd else []
    script = _script_of(header.get("argv"))
    files = [report.get("main_file") for report in reports] + [script]
    for main_file in files:
        if isinstance(main_file, str) and main_file and (cwd or os.path.isabs(main_file)):
            starts.append(os.path.dirname(os.path.join(cwd or "", main_file)))
    if not starts:
        return None
    roots: set[str] = set()
    for start in starts:
        root = _project_root(os.path.normpath(start))
        if root:
            roots.update({root.rstrip(os.sep) + os.sep,
                          os.path.realpath(root).rstrip(os.sep) + os.sep})
    return tuple(sorted(roots))


def _script_of(argv: object) -> str | None:
    """The script in a Python command line (`sys.orig_argv`), if it runs one."""
    if not isinstance(argv, list):
        return None
    args = iter(argv[1:])
    for arg in args:
        if not isinstance(arg, str) or arg in ("-c", "-m", "-"):
            return None
        if arg in ("-W", "-X", "--check-hash-based-pycs"):
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None


def _project_root(start: str) -> str | None:
    """The nearest ancestor of `start` with a project marker, else `start` itself. The
    search stops below the home directory (a dotfiles repository there makes no project of
    everything under it); `/` is never a root."""
    top = os.path.abspath(os.sep)
    home = os.path.expanduser("~")
    here = start
    while here not in (top, home):
        if any(os.path.exists(os.path.join(here, marker)) for marker in _PROJECT_MARKERS):
            return here
        parent = os.path.dirname(here)
        if parent == here:  # "//", a drive
            break
        here = parent
    return None if os.path.dirname(start) == start else start


def distribution_of(origin: str, name: str) -> str | None:
    """The installed distribution that owns a module under a site-packages directory."""
    if origin.startswith("namespace:"):
        origin = origin[len("namespace:"):].split("|")[0] + os.sep
    for marker in _SITE_DIRS:
        head, sep, tail = origin.partition(os.sep + marker + os.sep)
        if sep:
            top = re.split(r"[/\\.]", tail, maxsplit=1)[0]
            return _top_level_map(head + os.sep + marker).get(top)
    # Editable installs live outside site-packages; their distribution is usually the
    # top-level package's name, which the caller can look up with `editable_distribution`.
    return None


@lru_cache(maxsize=None)
def _top_level_map(site_dir: str) -> dict[str, str]:
    """Top-level import name -> distribution name, for one site-packages directory."""
    from importlib import metadata

    mapping: dict[str, str] = {}
    for dist in metadata.distributions(path=[site_dir]):
        name = dist.metadata["Name"] or ""
        tops = (dist.read_text("top_level.txt") or "").split()
        if not tops:
            tops = sorted({
                re.split(r"[/\\.]", str(f), maxsplit=1)[0]
                for f in (dist.files or ())
                if not str(f).startswith(("..", "__pycache__")) and ".dist-info" not in str(f)
            })
        for top in tops:
            mapping.setdefault(top, name)
        # Editable installs record only a .pth or a finder; the import name is then usually
        # the distribution name itself.
        mapping.setdefault(re.sub(r"[-.]+", "_", name).lower(), name)
    return mapping


def editable_distribution(name: str, search_path: list[str]) -> str | None:
    """The distribution of a first-party top-level package installed in editable mode."""
    top = name.split(".")[0]
    for entry in search_path:
        if entry.endswith(_SITE_DIRS) and os.path.isdir(entry):
            found = _top_level_map(entry).get(top)
            if found:
                return found
    return None


def bytecode_of(origin: str, cache_tag: str | None) -> str | None:
    """"pyc" if a valid cached bytecode file exists for this source, "source" if not.

    Checks the timestamp-based header (flags 0: mtime and size of the source), the same test
    the interpreter makes; hash-based pycs are taken as valid.
    """
    if not origin.endswith(".py") or not cache_tag or not os.path.isfile(origin):
        return None
    head, tail = os.path.split(origin)
    cached = os.path.join(head, "__pycache__", f"{tail[:-3]}.{cache_tag}.pyc")
    try:
        with open(cached, "rb") as handle:
            header = handle.read(16)
        stat = os.stat(origin)
    except OSError:
        return "source"
    if len(header) < 16:
        return "source"
    flags = int.from_bytes(header[4:8], "little")
    if flags & 0b1:  # hash-based
        return "pyc"
    mtime = int.from_bytes(header[8:12], "little")
    size = int.from_bytes(header[12:16], "little")
    valid = mtime == (int(stat.st_mtime) & 0xFFFFFFFF) and size == (stat.st_size & 0xFFFFFFFF)
    return "pyc" if valid else "source"
