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
for those formats). A worker imports this module to read ``HOTSTART_PRELOAD``, so importing it
loads nothing else: readers, matching and suggestions import what they need when called.
"""

import os
import sys

TYPE_CHECKING = False  # not `from typing import ...`: typing alone costs milliseconds
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

    from .index import Index
    from .registry import Registry

    #: A hint extractor reads one string value of the spec (and its path) and names modules.
    HintExtractor = Callable[[str, str], Iterable[str]]

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

# Template syntax that makes a type name known only when the spec is rendered.
_TEMPLATE_MARKS = ("${", "{{", "%(")


def _is_module_name(name: str) -> bool:
    return bool(name) and all(part.isidentifier() for part in name.split("."))


def _is_template(value: str) -> bool:
    return value.startswith("$") or any(mark in value for mark in _TEMPLATE_MARKS)


class SpecError(ValueError):
    """A spec that cannot be read: the message says which file and why, in one line."""


class TypeUse:
    """One occurrence of a type name in a spec, with its JSON path (``$.steps[2]``)."""

    __slots__ = ("name", "path")

    def __init__(self, name: str, path: str) -> None:
        self.name = name
        self.path = path

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TypeUse) and (self.name, self.path) == (other.name, other.path)

    def __hash__(self) -> int:
        return hash((self.name, self.path))

    def __repr__(self) -> str:
        return f"TypeUse({self.name!r}, {self.path!r})"


class AliasTable:
    """Library aliases used inside expression strings: ``{"np": "numpy", "pd": "pandas"}``.

    `modules_in(text)` names the modules a string uses (``np.log`` -> ``numpy``); `namespace()`
    imports them as the globals to evaluate such strings with. Give both sides the same table.
    """

    def __init__(self, aliases: "Mapping[str, str]") -> None:
        import re

        for alias, module in aliases.items():
            if not alias.isidentifier() or not _is_module_name(module):
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

    def namespace(self) -> "dict[str, Any]":
        """The aliases bound to their imported modules, for ``eval(text, namespace)``."""
        import importlib

        return {alias: importlib.import_module(module) for alias, module in self.aliases.items()}


class Preload:
    """What a spec needs preloaded, and why.

    `modules` in order; `required_by` maps a module to the spec entries that need it
    (``"$.steps[2] zscore"``, ``"$.steps[3].expr (hint)"``); `unknown` lists the type names
    nothing registers, with the closest known names in `suggestions`; `dynamic` the paths
    whose type is not a literal name (a template, a number, an object).
    """

    __slots__ = ("modules", "required_by", "unknown", "dynamic", "suggestions")

    def __init__(self) -> None:
        self.modules: list[str] = []
        self.required_by: dict[str, list[str]] = {}
        self.unknown: list[TypeUse] = []
        self.dynamic: list[str] = []
        self.suggestions: dict[str, list[str]] = {}

    def __repr__(self) -> str:
        return (f"Preload(modules={self.modules!r}, unknown={self.unknown!r}, "
                f"dynamic={self.dynamic!r})")

    @property
    def env_value(self) -> str:
        return encode_preload(self.modules)

    def hint(self, name: str) -> str:
        """`` (did you mean 'zscore'?)`` for an unknown type name with a close known one,
        else ``""``: the tail of a one-line error."""
        close = self.suggestions.get(name)
        return f" (did you mean {close[0]!r}?)" if close else ""

    def to_dict(self) -> "dict[str, Any]":
        return {
            "modules": self.modules,
            "required_by": self.required_by,
            "unknown": [{"name": u.name, "path": u.path,
                         "did_you_mean": self.suggestions.get(u.name, [])} for u in self.unknown],
            "dynamic": self.dynamic,
            PRELOAD_ENV: self.env_value,
        }


# -- reading specs -----------------------------------------------------------------------------

def load_spec(path: "str | os.PathLike[str]") -> "Any":
    """Read a JSON, YAML, TOML or CUE spec; `SpecError` with file and reason on failure."""
    name = os.fspath(path)
    suffix = os.path.splitext(name)[1].lower()
    if not os.path.isfile(name):
        if os.path.isdir(name):
            raise SpecError(f"spec {name!r} is a directory; give a JSON, YAML, TOML or CUE file")
        if os.path.exists(name):  # a FIFO or a device: reading it could block
            raise SpecError(f"spec {name!r} is not a regular file")
        raise SpecError(f"spec {name!r} not found")
    if suffix == ".cue":
        return _load_cue(name)
    try:
        with open(name, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise SpecError(f"cannot read spec {name!r}: {exc.strerror or exc}") from None
    try:
        return _parse_spec(name, suffix, data)
    except RecursionError:
        raise SpecError(f"{name}: nested too deeply to read (more than about "
                        f"{sys.getrecursionlimit()} levels); flatten the spec") from None
    except ValueError as exc:
        if isinstance(exc, SpecError):
            raise
        if "integer string conversion" in str(exc):  # int() refuses over 4,300 digits
            raise SpecError(f"{name}: a number has more than {sys.get_int_max_str_digits():,} "
                            f"digits; write it as a string") from None
        raise SpecError(f"{name}: cannot read a value: {exc}") from None


def _parse_spec(name: str, suffix: str, data: bytes) -> "Any":
    import json
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
            problem = " ".join(str(getattr(exc, "problem", None) or exc).split())  # one line
            raise SpecError(f"{name}{where}: not valid YAML ({problem})") from None
    raise SpecError(f"{name}: unknown spec format {suffix or '(no extension)'!r}; "
                    f"expected .json, .yaml, .yml, .toml or .cue")


def _load_cue(name: str) -> "Any":
    import json
    import shutil
    import subprocess

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

def type_uses(spec: "Any", type_key: str = TYPE_KEY) -> "Iterator[tuple[str, Any]]":
    """(path, type value) for every object in the spec that has `type_key`, depth first in
    document order."""
    for path, node in _walk(spec):
        if isinstance(node, dict) and type_key in node:
            yield path, node[type_key]


def _walk(root: "Any", path: str = "$") -> "Iterator[tuple[str, Any]]":
    """(path, node) for every node, depth first in document order, each container once.

    Iterative, so nesting depth is bounded by memory, not the recursion limit. A container
    reached again (a YAML alias, or a cycle `&a [*a]`) is not walked again: an alias bomb of
    a few hundred bytes names billions of paths but holds few objects.
    """
    seen: set[int] = set()
    stack: list[tuple[str, Any]] = [(path, root)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, (dict, list)):
            if id(node) in seen:
                continue
            seen.add(id(node))
        yield path, node
        if isinstance(node, dict):
            children = [(_child_path(path, key), value) for key, value in node.items()]
        elif isinstance(node, list):
            children = [(f"{path}[{index}]", value) for index, value in enumerate(node)]
        else:
            continue
        stack.extend(reversed(children))


def _child_path(path: str, key: "Any") -> str:
    if isinstance(key, str) and key.isidentifier():
        return f"{path}.{key}"
    if isinstance(key, str):
        import json

        return f"{path}[{json.dumps(key)}]"
    return f"{path}[{key!r}]"  # YAML and TOML keys may be numbers, dates, tuples


def compute_preload(spec: "Any", index: "Index | None" = None, *, type_key: str = TYPE_KEY,
                    registry: "Registry | None" = None,
                    prefixes: "Mapping[str, Sequence[str]] | None" = None,
                    hints: "Sequence[HintExtractor]" = (),
                    always: "Sequence[str]" = ()) -> Preload:
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
    first = list(order)  # `always`: listed first, never dropped for a submodule
    for path, value in type_uses(spec, type_key):
        if not isinstance(value, str) or _is_template(value):
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
    result.modules = first + _minimal([m for m in order if m not in first], keep=first)
    if result.unknown:
        import difflib

        known = _known_names(index, registry)
        for use in result.unknown:
            result.suggestions[use.name] = difflib.get_close_matches(use.name, known, n=3)
    return result


def _modules_for(name: str, index: "Index | None", registry: "Registry | None",
                 prefixes: "Mapping[str, Sequence[str]] | None") -> "list[str] | None":
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


def _known_names(index: "Index | None", registry: "Registry | None") -> list[str]:
    names: set[str] = set()
    if index is not None:
        names.update(index.names())
    if registry is not None:
        names.update(registry.names())
    return sorted(names)


def _minimal(modules: list[str], keep: "Sequence[str]" = ()) -> list[str]:
    """`modules` less each package that a listed submodule (or one in `keep`) imports anyway;
    linear in the number of dotted parts, not quadratic in the number of modules."""
    covered: set[str] = set()
    for module in (*modules, *keep):
        parts = module.split(".")
        covered.update(".".join(parts[:i]) for i in range(1, len(parts)))
    return [m for m in modules if m not in covered]


# -- HOTSTART_PRELOAD ----------------------------------------------------------------------------

def encode_preload(modules: "Iterable[str]") -> str:
    """``a,b,c``: stripped, de-duplicated, order kept; `ValueError` for a bad module name."""
    out: dict[str, None] = {}
    for module in modules:
        name = module.strip()
        if not _is_module_name(name):
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
        if not _is_module_name(name):
            raise ValueError(f"{PRELOAD_ENV}: {name!r} is not a module name")
        out.setdefault(name)
    return list(out)
