"""Hot calls: what module-level code called while imports were running, and what it cost.

The tracer's profiling run records a call profile restricted to the import phase. Most of it
is the import machinery itself (finders, `exec` of module bodies, `marshal.loads`), which the
module tree already accounts for. What is left starts with a call made by a module's top-level
code or a class statement: a logger factory that runs `inspect.stack()`, a `re.compile` of a
large pattern, a registry built eagerly. That is a cost that is a *call*, not an import.

The view is top-down: each hot call is a function called from module level, with the time
that came through those calls, the modules that made them, the callees where the time went,
and the chain down to the leaf that burns it (`get_logger -> inspect.stack`).

Three corrections make the figure what removing the call saves:
- the call profiler's own cost: the tracer measures it per call event at start
  (`tracer._calibrate`), and each hot call gives back that cost for every call made under it;
- a time is listed once: calls made by a class statement or by code `exec`'d inside another
  hot call are part of that call's time, not hot calls of their own;
- imports a call makes are the module tree's (`imports_us`), but code it `exec`s is its own.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Sequence

from .model import CallLink, HotCall

__all__ = ["hot_calls"]

_MACHINERY_FILES = ("<frozen importlib", "<frozen zipimport")
_IMPORTLIB_INIT = ("importlib/__init__.py", "importlib\\__init__.py")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_DUNDER = re.compile(r"(^|\.)__\w+__$")
_BUILD_CLASS = "<built-in method builtins.__build_class__>"
_EXEC = "<built-in method builtins.exec>"
_EVAL = "<built-in method builtins.eval>"
_LEAF_SHARE = 0.5  # the chain follows a callee while it holds at least this share of the time
_CHAIN_MAX = 8

Key = tuple[str, int, str]
Edge = tuple[Key, int, float]  # callee or caller, calls, seconds


def hot_calls(rows: Iterable[dict[str, Any]], tracer_file: str | None,
              module_files: dict[str, str], search_path: Sequence[str] = (),
              limit: int = 30, min_us: float = 100.0,
              event_ns: Sequence[float] | None = None,
              sampled: Iterable[Sequence[Any]] | None = None) -> list[HotCall]:
    """Functions called by module-level code during imports, ranked by their own cost.

    `rows` are the tracer's call records (times in seconds); `module_files` maps source files
    to module names (others are named from `search_path`) so that callers read as modules.
    `event_ns` is the call profiler's cost per call event, [Python function, builtin], as the
    tracer measured it; each hot call's `overhead_us` is that cost times the calls made under
    it, and is not part of `own_us`. `sampled` is the memory run's [(function, ns, samples)]
    (see `tracer._hot_call_sampler`): a Python function takes its time from there (0 if no
    sample found it); builtins, which have no frame to sample, keep the profiler's figure.
    """
    graph = _Graph(list(rows), tracer_file, module_files, search_path)
    sampled = list(sampled) if sampled is not None else None
    sampled_ns: dict[Key, tuple[float, int]] = {}
    for item in sampled or ():
        if len(item) == 3 and len(item[0]) == 3:
            sampled_ns[tuple(item[0])] = (float(item[1]), int(item[2]))  # type: ignore[index]
    py_ns, builtin_ns = (list(event_ns or ()) + [0.0, 0.0])[:2]
    bodies = graph.class_bodies
    build_class = [k for k in graph.total if k[2] == _BUILD_CLASS]
    # Share of the class statements' time that ran at module level (the rest ran in functions,
    # whose time already holds it): metaclass hooks are counted for that share only.
    class_share = 1.0
    if build_class and graph.total[build_class[0]]:
        bc = build_class[0]
        class_share = min(1.0, sum(t for k, _, t in graph.callers.get(bc, ())
                                   if graph.module_level(k)) / graph.total[bc])

    candidates: dict[Key, list[Edge]] = {}
    for key in graph.total:
        if graph.machinery(key) or graph.module_level(key) or key in bodies:
            continue
        if not graph.total[key]:
            continue
        entries = [(k, n, t * (class_share if k[2] == _BUILD_CLASS else 1.0))
                   for k, n, t in graph.callers.get(key, ()) if graph.module_level(k)]
        if entries:
            candidates[key] = entries
    _drop_nested(graph, candidates)

    out: list[HotCall] = []
    for key, entries in candidates.items():
        if not entries:
            continue
        total = graph.total[key]
        cumulative = sum(t for _, _, t in entries)
        share = min(1.0, cumulative / total)
        callees = sorted(graph.callees.get(key, {}).items(), key=lambda c: -c[1][1])
        imports = sum(t for k, (_, t) in callees if graph.importing(k))
        py_events, builtin_events = graph.events_under(key)
        overhead = share * (py_events * py_ns + builtin_events * builtin_ns) / 1e3
        raw_own = (cumulative - imports * share) * 1e6
        call = HotCall(
            function=graph.label(key),
            file=_file(key),
            line=key[1] or None,
            calls=sum(n for _, n, _ in entries),
            self_us=graph.self_s[key] * share * 1e6,
            cumulative_us=cumulative * 1e6,
            imports_us=imports * share * 1e6,
            overhead_us=max(0.0, min(overhead, raw_own)),
            events=round(share * (py_events + builtin_events)),
            callers=[
                CallLink("(class statements)" if k[2] == _BUILD_CLASS else graph.label(k),
                         _file(k), k[1] or None, n, t * 1e6)
                for k, n, t in sorted(entries, key=lambda c: -c[2])
            ],
            callees=[
                CallLink(graph.label(k), _file(k), k[1] or None, n, t * share * 1e6)
                for k, (n, t) in callees if not graph.importing(k)
            ][:5],
        )
        if key in sampled_ns:
            call.sampled_us = sampled_ns[key][0] / 1e3
            call.samples = sampled_ns[key][1]
        elif sampled is not None and key[0] != "~":  # sampled, never found: under an interval
            call.sampled_us = 0.0
        call.chain = graph.chain(key, call.own_us, share)
        if call.own_us >= min_us:
            out.append(call)
    out.sort(key=lambda h: -h.own_us)
    return out[:limit]


def profiler_overhead_us(rows: Iterable[dict[str, Any]],
                         event_ns: Sequence[float] | None) -> float:
    """The call profiler's own cost over a whole profiling run: every call it counted."""
    py_ns, builtin_ns = (list(event_ns or ()) + [0.0, 0.0])[:2]
    total = 0.0
    for row in rows:
        total += row["calls"] * (builtin_ns if row["function"][0] == "~" else py_ns)
    return total / 1e3


def _file(key: Key) -> str | None:
    return None if key[0] == "~" else key[0]


def _drop_nested(graph: _Graph, candidates: dict[Key, list[Edge]]) -> None:
    """Calls made by module code that another hot call `exec`s (a plugin file, a generated
    namespace, a script run as `__main__` through `runpy`) are in that call's time: drop them,
    so a time is listed once. Walks up from each piece of executed code to see whether a hot
    call ran it (not through imports or class statements)."""
    nested: set[Key] = set()
    for start in graph.total:
        if start[2] != "<module>" or graph.imported_body(start):
            continue
        seen, stack = {start}, [start]
        while stack and start not in nested:
            for caller, _, _ in graph.callers.get(stack.pop(), ()):
                if caller in seen or graph.importing(caller) or caller[2] == _BUILD_CLASS:
                    continue
                if caller in candidates:
                    nested.add(start)
                    break
                seen.add(caller)
                stack.append(caller)
    for key, entries in candidates.items():
        candidates[key] = [e for e in entries if e[0] not in nested]


class _Graph:
    """The call profile as a graph: callers and callees of every function, with the import
    machinery, module bodies and class bodies told apart."""

    def __init__(self, rows: list[dict[str, Any]], tracer_file: str | None,
                 module_files: dict[str, str], search_path: Sequence[str]) -> None:
        self.tracer_file = tracer_file
        self.module_files = module_files
        self.roots = sorted((p.rstrip("/\\") for p in search_path if p), key=len, reverse=True)
        self.names: dict[str, str] = {}
        self.total: dict[Key, float] = {}
        self.self_s: dict[Key, float] = {}
        self.count: dict[Key, int] = {}
        self.callers: dict[Key, list[Edge]] = {}
        self.callees: dict[Key, dict[Key, tuple[int, float]]] = {}
        for row in rows:
            key: Key = tuple(row["function"])  # type: ignore[assignment]
            self.total[key] = row["total"]
            self.self_s[key] = row["self"]
            self.count[key] = row["calls"]
            callers = [(tuple(c[0]), c[1], c[2]) for c in row["callers"]]
            self.callers[key] = callers  # type: ignore[assignment]
            for caller, n, t in callers:
                self.callees.setdefault(caller, {})[key] = (n, t)  # type: ignore[index]
        # Callee lists are cut at 50 us by the tracer; the callers lists are complete, but a
        # callee whose own row was dropped is only in its caller's list.
        for row in rows:
            key = tuple(row["function"])  # type: ignore[assignment]
            for callee, n, t in row["callees"]:
                self.callees.setdefault(key, {}).setdefault(tuple(callee), (n, t))
        # Class bodies are the code objects `__build_class__` runs. Metaclass hooks
        # (`__new__`, `__init_subclass__`, ...) are called by it too: they are callees of the
        # class statement, not bodies.
        self.class_bodies = {
            key for key, callers in self.callers.items()
            if any(k[2] == _BUILD_CLASS for k, _, _ in callers) and not _DUNDER.search(key[2])
        }
        self._events: dict[Key, tuple[float, float]] = {}

    # what a function is ---------------------------------------------------------------------
    def machinery(self, key: Key) -> bool:
        return self.importing(key) or key[2] == _EXEC

    def importing(self, key: Key) -> bool:
        """Import machinery: time under it belongs to the modules it imports."""
        filename = key[0]
        return (filename.startswith(_MACHINERY_FILES) or filename == self.tracer_file
                or filename.endswith(_IMPORTLIB_INIT))

    def module_level(self, key: Key) -> bool:
        """Module code, a top-level class body or a class statement: code that runs at import.
        A class defined inside a function runs in that function's time."""
        if key[2] in ("<module>", _BUILD_CLASS):
            return True
        return key in self.class_bodies and "<locals>" not in key[2]

    def imported_body(self, key: Key) -> bool:
        return key[0] in self.module_files or key[0].startswith("<frozen ")

    def label(self, key: Key) -> str:
        filename, _, name = key
        if filename == "~":
            return _ADDRESS.sub("", name)
        module = self.module_of(filename)
        return module if name == "<module>" else f"{module}:{name}"

    def module_of(self, filename: str) -> str:
        name = self.names.get(filename)
        if name is None:
            name = self.names[filename] = (self.module_files.get(filename)
                                           or _module_from_path(filename, self.roots))
        return name

    # walking it -----------------------------------------------------------------------------
    def children(self, key: Key) -> list[Edge]:
        """Where `key`'s own time went: callees without the import machinery; for `exec` and
        `eval`, only code they ran that is not a module body run by an import."""
        out = []
        for callee, (n, t) in self.callees.get(key, {}).items():
            if self.importing(callee):
                continue
            if key[2] in (_EXEC, _EVAL) and self.imported_body(callee):
                continue
            out.append((callee, n, t))
        return out

    def part(self, key: Key, seconds: float) -> float:
        """The share of `key`'s time (over all its calls) that `seconds` of it is."""
        total = self.total.get(key, 0.0)
        if key[2] in (_EXEC, _EVAL):  # its time also holds every module body it ran
            total = sum(t for _, _, t in self.children(key))
        return min(1.0, seconds / total) if total > 0 else 0.0

    def events_under(self, root: Key) -> tuple[float, float]:
        """Calls made under `root` over all its calls, as the profiler counted them
        ([Python, builtin]); a callee shared with other callers counts for its share of time."""
        memo = self._events
        if root in memo:
            return memo[root]
        open_: set[Key] = set()  # expanded, not finished: a callee found here is a recursion
        stack: list[tuple[Key, bool]] = [(root, False)]
        while stack:
            key, finish = stack.pop()
            if finish:
                python = builtin = 0.0
                for callee, n, t in self.children(key):
                    if callee[0] == "~":
                        builtin += n
                    else:
                        python += n
                    below = memo.get(callee)
                    if below is not None and callee != key:
                        part = self.part(callee, t)
                        python += part * below[0]
                        builtin += part * below[1]
                memo[key] = (python, builtin)
                open_.discard(key)
                continue
            if key in memo or key in open_:
                continue
            open_.add(key)
            stack.append((key, True))
            stack.extend((c, False) for c, _, _ in self.children(key)
                         if c not in memo and c not in open_)
        return memo[root]

    def chain(self, root: Key, own_us: float, share: float) -> list[CallLink]:
        """From `root` down the callee that holds most of its time, while it holds at least
        half, to the leaf that burns it: the first function in another top-level package
        (`get_logger -> inspect.stack`) or the deepest one that still holds the time. A class
        statement is looked through, to the body of the class the function defines."""
        out: list[CallLink] = []
        package = self.label(root).split(".")[0].split(":")[0]
        key, held, seen = root, 1.0, {root}
        caller: tuple[Key, float] | None = None  # for a class statement: who made it
        while len(out) < _CHAIN_MAX:
            children = self.children(key)
            if key[2] == _BUILD_CLASS:
                if caller is None:
                    break
                prefix = caller[0][2] + ".<locals>."  # the classes `caller` defines
                children = [c for c in children
                            if c[0][0] == caller[0][0] and c[0][2].startswith(prefix)]
            if not children:
                break
            callee, n, t = max(children, key=lambda c: c[2])
            if key[2] == _BUILD_CLASS and caller is not None:
                portion = caller[1] * self.part(caller[0], t)
            else:
                portion = held * self.part(key, t)
            if portion < _LEAF_SHARE or callee in seen:
                break
            out.append(CallLink(self.label(callee), _file(callee), callee[1] or None,
                                max(1, round(n * share)) if n else 0, portion * own_us))
            caller = (key, held)
            key, held = callee, portion
            seen.add(callee)
            if callee[2] == _BUILD_CLASS or callee in self.class_bodies:
                continue
            if callee[0] == "~" or self.label(callee).split(".")[0].split(":")[0] != package:
                break
        return out


def _module_from_path(filename: str, roots: Sequence[str]) -> str:
    """`<root>/pkg/sub/mod.py` -> `pkg.sub.mod`, relative to the longest matching root."""
    normal = filename.replace("\\", "/")
    if normal.startswith("<frozen "):
        return normal[len("<frozen "):].rstrip(">")
    for root in roots:
        root = root.replace("\\", "/")
        if normal.startswith(root + "/"):
            parts = normal[len(root) + 1:].split("/")
            break
    else:
        parts = normal.rsplit("/", 1)[-1:]
    parts[-1] = parts[-1].rsplit(".", 1)[0]
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)
