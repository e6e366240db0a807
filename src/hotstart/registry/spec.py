"""Spec -> preload list: the modules a job needs, read from its spec without running it.

A job spec names the constructor of each of its objects in a type key (``"@type":
"csv_source"``); a registry maps those names to objects that modules register at import. To
start a worker with exactly the modules a job needs (and no others), walk the spec, collect
its type names, and map each through the registry's static `Index` to the modules that
register it:

    >>> spec = load_spec("jobs/clean.json")
    >>> preload = compute_preload(spec, Index.build("jobrunner"))
    >>> preload.modules
    ['jobrunner.plugins.sources', 'jobrunner.plugins.transforms', 'jobrunner.plugins.stats']
    >>> os.environ[PRELOAD_ENV] = encode_preload(preload.modules)   # for remote workers

Libraries a spec uses only inside expression strings ("lambda x: np.log(x)") never appear as
type names; an `AliasTable` finds them, and the same table builds the globals those strings
are evaluated with, so the preload list and the evaluation cannot disagree.

Standard library only (YAML needs PyYAML, CUE needs the ``cue`` binary; both are used only
for those formats).
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Sequence

if TYPE_CHECKING:
    from .index import Index
    from .registry import Registry

__all__ = [
    "TYPE_KEY",
    "PRELOAD_ENV",
    "SpecError",
    "TypeUse",
    "AliasTable",
    "Preload",
    "load_spec",
    "type_uses",
    "compute_preload",
    "encode_preload",
    "decode_preload",
]

TYPE_KEY = "@type"
PRELOAD_ENV = "HOTSTART_PRELOAD"

#: A hint extractor reads one string value of the spec (and its path) and names modules.
HintExtractor = Callable[[str, str], Iterable[str]]

_MODULE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
# Template syntax that makes a type name known only when the spec is rendered.
_TEMPLATE = re.compile(r"\$\{|\{\{|%\(|^\$")


class SpecError(ValueError):
    """A spec that cannot be read: the message says which file and why, in one line."""


@dataclass(frozen=True, slots=True)
class TypeUse:
    """One occurrence of a type name in a spec, with its JSON path (``$.steps[2]``)."""

    name: str
    path: str


class AliasTable:
    """Library aliases used inside expression strings: ``{"np": "numpy", "pd": "pandas"}``.

    `modules_in(text)` names the modules a string uses (``np.log`` -> ``numpy``); `namespace()`
    imports them as the globals to evaluate such strings with. Give both sides the same table.
    """

    def __init__(self, aliases: Mapping[str, str]) -> None:
        for alias, module in aliases.items():
            if not alias.isidentifier() or not _MODULE.match(module):
                raise ValueError(f"bad alias {alias!r} -> {module!r}: expected name -> module")
        self.aliases = dict(aliases)
        names = "|".join(re.escape(a) for a in sorted(self.aliases, key=len, reverse=True))
        self._pattern = re.compile(rf"(?<![\w.])({names})\s*\.") if names else None

    def modules_in(self, text: str) -> list[str]:
        if self._pattern is None:
            return []
        found: dict[str, None] = {}
        for match in self._pattern.finditer(text):
            found.setdefault(self.aliases[match.group(1)])
        return list(found)

    def __call__(self, text: str, path: str) -> list[str]:  # a HintExtractor
        return self.modules_in(text)

    def namespace(self) -> dict[str, Any]:
        """The aliases bound to their imported modules, for ``eval(text, namespace)``."""
        import importlib

        return {alias: importlib.import_module(module) for alias, module in self.aliases.items()}


@dataclass(slots=True)
class Preload:
    """What a spec needs preloaded, and why."""

    modules: list[str] = field(default_factory=list)
    #: module -> the spec entries that need it ("$.steps[2] zscore", "$.steps[3].expr (hint)")
    required_by: dict[str, list[str]] = field(default_factory=dict)
    unknown: list[TypeUse] = field(default_factory=list)
    #: paths whose type is not a literal name (a template, a number, an object)
    dynamic: list[str] = field(default_factory=list)
    #: for each unknown name, the closest known names
    suggestions: dict[str, list[str]] = field(default_factory=dict)

    @property
    def env_value(self) -> str:
        return encode_preload(self.modules)

    def to_dict(self) -> dict[str, Any]:
        return {
            "modules": self.modules,
            "required_by": self.required_by,
            "unknown": [{"name": u.name, "path": u.path,
                         "did_you_mean": self.suggestions.get(u.name, [])} for u in self.unknown],
            "dynamic": self.dynamic,
            PRELOAD_ENV: self.env_value,
        }


# -- reading specs -----------------------------------------------------------------------------

def load_spec(path: str | os.PathLike[str]) -> Any:
    """Read a JSON, YAML, TOML or CUE spec; `SpecError` with file and reason on failure."""
    name = os.fspath(path)
    suffix = os.path.splitext(name)[1].lower()
    if not os.path.isfile(name):
        raise SpecError(f"spec {name!r} not found")
    if suffix == ".cue":
        return _load_cue(name)
    try:
        with open(name, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise SpecError(f"cannot read spec {name!r}: {exc.strerror or exc}") from None
    if suffix == ".json":
        try:
            return json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            where = f":{exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
            raise SpecError(f"{name}{where}: not valid JSON ({getattr(exc, 'msg', exc)})") from None
    if suffix == ".toml":
        import tomllib

        try:
            return tomllib.loads(data.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SpecError(f"{name}: not valid TOML ({exc})") from None
    if suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise SpecError(f"{name}: reading YAML needs PyYAML (pip install pyyaml)") from None
        try:
            return yaml.safe_load(data)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f":{mark.line + 1}" if mark is not None else ""
            raise SpecError(f"{name}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") \
                from None
    raise SpecError(f"{name}: unknown spec format {suffix or '(no extension)'!r}; "
                    f"expected .json, .yaml, .yml, .toml or .cue")


def _load_cue(name: str) -> Any:
    cue = shutil.which("cue")
    if cue is None:
        raise SpecError(f"{name}: reading CUE needs the 'cue' binary on PATH "
                        f"(https://cuelang.org), or export the spec to JSON first")
    result = subprocess.run([cue, "export", "--out", "json", name], capture_output=True,
                            text=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["cue export failed"])[0]
        raise SpecError(f"{name}: cue export failed: {reason}")
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError as exc:
        raise SpecError(f"{name}: cue export printed invalid JSON ({exc.msg})") from None


# -- walking specs -----------------------------------------------------------------------------

def type_uses(spec: Any, type_key: str = TYPE_KEY) -> Iterator[tuple[str, Any]]:
    """(path, type value) for every object in the spec that has `type_key`, depth first in
    document order."""
    for path, node in _walk(spec):
        if isinstance(node, dict) and type_key in node:
            yield path, node[type_key]


def _walk(node: Any, path: str = "$") -> Iterator[tuple[str, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            child = f"{path}.{key}" if isinstance(key, str) and key.isidentifier() \
                else f"{path}[{json.dumps(key)}]"
            yield from _walk(value, child)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}[{index}]")


def compute_preload(spec: Any, index: Index | None = None, *, type_key: str = TYPE_KEY,
                    registry: Registry | None = None,
                    prefixes: Mapping[str, Sequence[str]] | None = None,
                    hints: Sequence[HintExtractor] = (), always: Sequence[str] = ()) -> Preload:
    """The minimal, deterministic list of modules to preload for `spec`.

    Each type name is looked up in `registry` (registered objects, its index, its prefix
    resolvers) and in `index`, then in `prefixes` (``{"np.": ["numpy"]}``). Names found
    nowhere are reported in `unknown`. `hints` (e.g. an `AliasTable`) read every string value.
    Order: `always` first, then modules in the order the spec first needs them; a package is
    dropped when one of its submodules is listed (importing the submodule imports it).
    """
    result = Preload()
    order: dict[str, None] = {}

    def need(module: str, why: str) -> None:
        order.setdefault(module)
        result.required_by.setdefault(module, []).append(why)

    for module in always:
        need(module, "always")
    for path, value in type_uses(spec, type_key):
        if not isinstance(value, str) or _TEMPLATE.search(value):
            result.dynamic.append(path)
            continue
        modules = _modules_for(value, index, registry, prefixes)
        if modules is None:
            result.unknown.append(TypeUse(value, path))
            continue
        for module in modules:
            need(module, f"{path} {value}")
    if hints:
        for path, node in _walk(spec):
            if isinstance(node, str):
                for extractor in hints:
                    for module in extractor(node, path):
                        need(module, f"{path} (hint)")
    result.modules = _minimal(list(order))
    known = _known_names(index, registry)
    for use in result.unknown:
        result.suggestions[use.name] = difflib.get_close_matches(use.name, known, n=3)
    return result


def _modules_for(name: str, index: Index | None, registry: Registry | None,
                 prefixes: Mapping[str, Sequence[str]] | None) -> list[str] | None:
    if registry is not None:
        if name in registry:
            module = getattr(registry.get(name), "__module__", None)
            return [module] if module else []
        modules = registry.preload_modules(name)
        if modules:
            return list(modules)
    if index is not None and name in index:
        return index.modules_for(name)
    for prefix in sorted(prefixes or (), key=len, reverse=True):
        if name.startswith(prefix):
            return list(prefixes[prefix])  # type: ignore[index]
    return None


def _known_names(index: Index | None, registry: Registry | None) -> list[str]:
    names: set[str] = set()
    if index is not None:
        names.update(index.names())
    if registry is not None:
        names.update(registry.names())
    return sorted(names)


def _minimal(modules: list[str]) -> list[str]:
    listed = set(modules)
    return [m for m in modules if not any(other.startswith(m + ".") for other in listed)]


# -- HOTSTART_PRELOAD ----------------------------------------------------------------------------

def encode_preload(modules: Iterable[str]) -> str:
    """``a,b,c``: stripped, de-duplicated, order kept; `ValueError` for a bad module name."""
    out: dict[str, None] = {}
    for module in modules:
        name = module.strip()
        if not _MODULE.match(name):
            raise ValueError(f"{module!r} is not a module name")
        out.setdefault(name)
    return ",".join(out)


def decode_preload(value: str | None = None) -> list[str]:
    """The module list from ``HOTSTART_PRELOAD`` (or from `value`): stripped, de-duplicated,
    empty items dropped, order kept; `ValueError` naming a bad item."""
    text = os.environ.get(PRELOAD_ENV, "") if value is None else value
    out: dict[str, None] = {}
    for item in text.split(","):
        name = item.strip()
        if not name:
            continue
        if not _MODULE.match(name):
            raise ValueError(f"{PRELOAD_ENV}: {name!r} is not a module name")
        out.setdefault(name)
    return list(out)
