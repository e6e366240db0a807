"""Whether a project decorator, applied while a command module is imported, does nothing that
outlives the call, for the `cli` codemod's import-time whitelist (`_subcommands_inert`): a
command whose `def` carries a decorator of the project (celery's `@handle_preload_options`)
may be made lazy only if applying it to the fresh function only builds and returns objects,
since a lazy registration applies it later, or never.

A proof by a whitelist, read from the source (nothing is run), following each function's
statements in order. Every value has an origin: the object is built during the call
(fresh), is one of the function's parameters, or is shared (anything else: a global, an
attribute or item read, a parameter left to its default); and it carries the name and
docstring of a parameter (itself, or a wrapper `functools.update_wrapper`/`wraps` made for
it) or not. The call may change only fresh objects and its parameters' objects (the
decorated function is fresh at the `def`), may give a new name only to fresh objects, and
must return the decorated function or a fresh wrapper carrying its name and docstring (what
click and typer read for the parent's listing, which the lazy placeholder takes from the
source). Its statements must be
- `return`, `if`, `while`, `for` (over names), `pass`, `break`, `continue`, a docstring;
- an assignment to local names; an attribute or item assignment on a local (not of a dunder
  name such as `__doc__`), an augmented one on a local that is not shared;
- a nested `def` (its body is not run; its defaults, annotations and decorators are, and
  the decorators must be `functools.wraps(...)` or proven the same way);
- an expression statement calling what the calls below allow;
with calls only to builtins that change nothing (`getattr`, `isinstance`, `id`, `set`,
`len`, ...; `setattr` on a local with a literal name), `functools.wraps`,
`functools.update_wrapper`, `functools.partial`, methods of a fresh local (`seen.add(...)`,
`.append`, `.get`), and project functions proven by the same rule (recursively, at most
`DEPTH` calls deep; a function that calls itself, directly or through others, is refused).
A global may be read only if it is a builtin, a module, a function or class defined once at
the top of its module or imported from the project, or a constant bound once (anything else
may change before a lazy import reads it; an annotation may name any imported name). No
`global`/`nonlocal`, `yield`, `await`, `try`, `with`, `raise`, `import`, `del`, assignment
expressions or calls of a parameter. Anything else stops the proof, named as
"file:line in function(): `statement` why".

A module-level call (`cache_cli = typer_factory(help="...")`, `log = get_logger(__name__)`,
its arguments inert) is proven by the same rules (`Prover.call`), its arguments being
objects that outlive the call (it may change or rename none of them); it may return a shared
object, as a module-level name may be bound to one. There, and in decorators, the framework's
classes (`typer.Typer(help=help, cls=Group)`: they store what they are given, the `built`
predicate), `logging.getLogger` (a logger got later is the same) and `str` methods of a
literal or of `__name__` are inert too.

A decorator factory's call (`@_list_option('inspect')`, its arguments inert) is proven when
the function, its parameters bound to shared objects, only returns what a framework call
that builds a parameter decorator returns (`click.option(...)`: the predicate is given by
the caller), which the `def` then applies as it would a module-level `@click.option(...)`.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from ._inert_body import (
    ARGUMENT,
    FRAMEWORK,
    FRESH,
    GROUP,
    SHARED,
    UNKNOWN,
    FunctionProof,
    Summary,
    Token,
    Unproven,
    parameters,
    returned,
    where,
)
from ._subcommands_read import SourceModule, dotted

__all__ = ["DEPTH", "Prover"]

#: How many project calls deep a proof follows before it gives up.
DEPTH = 6


class Prover:
    """Proves project decorators and module-level project calls inert, reading modules with
    `read` (absolute name -> SourceModule or None); proofs are kept for the prover's life."""

    def __init__(self, read: Callable[[str], SourceModule | None],
                 factory: Callable[[str], bool] = lambda name: False,
                 built: Callable[[str], str | None] = lambda name: None) -> None:
        self.read = read
        #: whether a full name (`click.option`) is the framework's decorator factory
        self.factory = factory
        #: what calling a full name builds: "group" (`typer.Typer`), "value" (another class
        #: of the framework, `click.Choice`), or None (not a class of the framework)
        self.built = built
        self.proven: dict[tuple[str, str], Summary | Unproven] = {}
        self.active: set[tuple[str, str]] = set()

    def decorator(self, module: SourceModule, node: ast.expr) -> str | None:
        """Why applying the decorator `node` of `module` (naming a project function) to a
        freshly defined function may do something that outlives the call or change the
        function's name or docstring, or None when proven inert. A call (`@factory('x')`,
        its arguments inert) is proven when the project function only builds and returns a
        decorator of the framework (`click.option(...)`)."""
        call = node if isinstance(node, ast.Call) else None
        name = dotted(call.func if call else node)
        found = self.resolve(module, name) if name else None
        if found is None:
            return f"`{ast.unparse(node)}` is not a function of the project"
        try:
            summary = self.summary(*found, depth=0)
            if call is None:
                result = _apply(summary, [frozenset({(ARGUMENT, ARGUMENT)})], {})
            else:
                result = _apply(summary, [UNKNOWN for _ in call.args],
                                {k.arg or "**": UNKNOWN for k in call.keywords})
        except Unproven as why:
            return str(why)
        except RecursionError:
            return f"`{name}` nests expressions or calls too deeply to be proven"
        where = summary.where
        if any(obj == SHARED for obj, _ in result):
            return f"{where} may return an object that outlives the call"
        if call is not None and any(carrier != FRAMEWORK for _, carrier in result):
            return f"{where} may return something else than a decorator of the framework"
        if call is None and any(carrier != ARGUMENT for _, carrier in result):
            return (f"{where} may return an object without the function's name and docstring "
                    "(what the parent's listing shows), not a functools.wraps wrapper")
        return None

    def call(self, module: SourceModule, node: ast.Call) -> tuple[str | None, bool]:
        """Why calling the project function `node` names (its arguments inert, given as
        objects that outlive the call) at the top of `module` may do something that a later
        call would not do the same (change or register an object that outlives it, read the
        environment, a file or changing state), or None when proven; and whether it returns
        a group or app the framework built (`typer_factory(help=...)`)."""
        name = dotted(node.func)
        found = self.resolve(module, name) if name else None
        if found is None:
            return f"`{ast.unparse(node.func)}` is not a function of the project", False
        if any(isinstance(a, ast.Starred) for a in node.args) or \
                any(k.arg is None for k in node.keywords):
            return f"`{name}(...)` is called with unpacked arguments, not followed", False
        try:
            summary = self.summary(*found, depth=0)
            parameters(summary.node, [UNKNOWN for _ in node.args],
                       {str(k.arg): UNKNOWN for k in node.keywords})
        except Unproven as why:
            return str(why), False
        except RecursionError:
            return f"`{name}` nests expressions or calls too deeply to be proven", False
        for parameter in sorted(summary.mutates | summary.renames):
            verb = "changes" if parameter in summary.mutates else "renames"
            return (f"{summary.where} {verb} its parameter `{parameter}`, an object that "
                    "outlives the call"), False
        result = returned(summary, {})  # every parameter's object may outlive the call
        return None, bool(result) and all(t == (FRESH, GROUP) for t in result)

    # -- resolving names ------------------------------------------------------------------
    def resolve(self, module: SourceModule, name: str) -> tuple[SourceModule, str] | None:
        """The module defining the project function or class `name` reads in `module`, and
        its name there (following `from .x import f` re-exports), or None."""
        head, _, rest = name.partition(".")
        if head in module.defs and not rest:
            return module, head
        imported = module.imports.get(head)
        if imported is None:
            return None
        _node, base, attribute = imported
        parts = [*base.split("."), *([attribute] if attribute else []),
                 *(rest.split(".") if rest else [])]
        for cut in range(len(parts) - 1, 0, -1):  # the longest module name that reads
            owner = self.read(".".join(parts[:cut]))
            if owner is not None:
                return self._defining(owner, parts[cut:])
        return None

    def _defining(self, owner: SourceModule,
                  parts: list[str]) -> tuple[SourceModule, str] | None:
        for _ in range(8):
            if len(parts) != 1:
                return None  # `module.Class.method`, or a submodule not read
            if parts[0] in owner.defs:
                return owner, parts[0]
            imported = owner.imports.get(parts[0])
            found = self.read(imported[1]) if imported and imported[2] else None
            if found is None or imported is None:
                return None
            owner, parts = found, [str(imported[2])]
        return None

    # -- proofs ---------------------------------------------------------------------------
    def summary(self, owner: SourceModule, name: str, depth: int) -> Summary:
        """The proof of `owner`'s top-level function `name`; `Unproven` if it fails."""
        key = (owner.path, name)
        done = self.proven.get(key)
        if done is None:
            node = owner.defs[name]
            if key in self.active:
                raise Unproven(f"{where(owner, node)} {name}() calls itself (directly or "
                               "through other functions), which is not proven")
            if depth > DEPTH:
                raise Unproven(f"{where(owner, node)} {name}(): calls nest more than "
                               f"{DEPTH} deep")
            if not isinstance(node, ast.FunctionDef) or node.decorator_list or \
                    len(owner.globals.binds.get(name, [])) != 1:
                done = Unproven(f"{where(owner, node)} `{name}` is not a plain function "
                                "bound once at the top of its module")
            else:
                self.active.add(key)
                try:
                    done = FunctionProof(self, owner, node, depth).prove()
                except Unproven as why:
                    done = why
                finally:
                    self.active.discard(key)
            self.proven[key] = done
        if isinstance(done, Unproven):
            raise done
        return done



def _apply(summary: Summary, positional: list[frozenset[Token]],
           keywords: dict[str, frozenset[Token]]) -> frozenset[Token]:
    """`summary` applied at the top level (a decorated function is ARGUMENT; every other
    argument may outlive the call, so it may be neither changed nor renamed)."""
    name = summary.where
    mapping = parameters(summary.node, positional, keywords)
    for parameter in summary.mutates:
        if any(obj == SHARED for obj, _ in mapping.get(parameter, UNKNOWN)):
            raise Unproven(f"{name} changes its parameter `{parameter}`, left to its "
                           "default (an object that outlives the call)")
    for parameter in summary.renames:
        if any(obj != FRESH for obj, _ in mapping.get(parameter, UNKNOWN)):
            raise Unproven(f"{name} renames its parameter `{parameter}`, which is the "
                           "decorated function or outlives the call")
    return returned(summary, mapping)
