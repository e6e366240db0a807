"""Runtime aliases for imports moved under `if TYPE_CHECKING:`, and which uses they survive.

A typing-only import leaves the module's namespace at run time, but `typing.get_type_hints`
still evaluates the annotations that name it. The `else:` branch binds an alias instead:

- a class (or any attribute of a module): `Name = ForwardRef("__import__('m', fromlist=
  ['Name']).Name")`. `get_type_hints` evaluates it to the real object, also inside `X | None`,
  `Optional[X]`, `list[X]`, `dict[str, X]`, `Callable[[X], Y]`, `Annotated[X, ...]`: typing
  resolves the forward references inside its own generic aliases and unions (3.11-3.13 in
  `typing._eval_type`; 3.14+ in `annotationlib.ForwardRef.evaluate` and `typing._eval_type`,
  `ForwardRef` has `__or__`/`__ror__` on every version).
- a module used as `mod.X`: `mod = hotstart.lazy.lazy_import("mod")`, a module object that
  imports on first attribute access, so `mod.X`, `mod.X[int]` give the real objects.

A `ForwardRef` is not a type: `X[int]`, `X.Inner`, `X(...)` on it fail (`'ForwardRef' object
is not subscriptable`), and a class outside typing's own generics (a custom
`__class_getitem__`) would keep it unresolved. It cannot be subclassed into something
subscriptable either: 3.14's `annotationlib.ForwardRef` refuses subclasses. So a name used
like that in any annotation keeps its import (`alias_problems` says why).
"""

from __future__ import annotations

import ast

__all__ = ["alias_problems", "runtime_alias"]

#: Builtins whose subscription is a `types.GenericAlias` (typing resolves inside it).
_BUILTIN_GENERICS = frozenset({"list", "dict", "set", "frozenset", "tuple", "type"})
#: Modules whose subscriptable names produce typing's own aliases and unions.
_TYPING_MODULES = frozenset({"typing", "typing_extensions", "collections.abc", "collections"})
#: typing names whose arguments are not evaluated as types.
_NOT_TYPES = frozenset({"Literal"})


def runtime_alias(kind: str, name: str, target: str, is_module: bool) -> tuple[str, bool]:
    """The alias statement for bound `name` (importing `target`), and whether it needs
    `hotstart.lazy`."""
    if kind == "import" or is_module:
        return f'{name} = hotstart.lazy.lazy_import("{target}")', True
    module, _, attr = target.rpartition(".")
    ref = f"__import__('{module}', fromlist=['{attr}']).{attr}"
    return f'{name} = ForwardRef("{ref}")', False


def alias_problems(tree: ast.Module, names: set[str], where: str) -> dict[str, str]:
    """For each of `names` (bound to a `ForwardRef` alias) used in an annotation where the
    alias would not evaluate like the real object: why, with `where:line` (`where`: the
    file as reports show it)."""
    checker = _Checker(tree, names, where)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs,
                        *(a for a in (args.vararg, args.kwarg) if a is not None)):
                if arg.annotation is not None:
                    checker.visit(arg.annotation, True)
            if node.returns is not None:
                checker.visit(node.returns, True)
        elif isinstance(node, ast.AnnAssign):
            checker.visit(node.annotation, True)
    return checker.problems


class _Checker:
    def __init__(self, tree: ast.Module, names: set[str], where: str) -> None:
        self.names = names
        self.where = where
        self.problems: dict[str, str] = {}
        self.typing_names: set[str] = set(_BUILTIN_GENERICS)  # bare names safe to subscript
        self.typing_modules: set[str] = set()                 # names bound to typing modules
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module in _TYPING_MODULES \
                    and not node.level:
                self.typing_names.update(a.asname or a.name for a in node.names
                                         if a.name not in _NOT_TYPES)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in _TYPING_MODULES:
                        self.typing_modules.add(alias.asname or alias.name.split(".")[0])
            elif isinstance(node, ast.ClassDef) and any(
                    isinstance(b, ast.Subscript) and self._base_name(b.value) in (
                        "Generic", "Protocol") for b in node.bases):
                self.typing_names.add(node.name)  # a generic class of this module

    @staticmethod
    def _base_name(node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute):
            return node.attr
        return None

    def _typing_generic(self, node: ast.expr) -> bool:
        """Whether subscripting `node` gives an alias typing evaluates forward references in."""
        if isinstance(node, ast.Name):
            return node.id in self.typing_names
        if isinstance(node, ast.Attribute) and node.attr not in _NOT_TYPES:
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            return isinstance(root, ast.Name) and root.id in self.typing_modules
        return False

    def visit(self, node: ast.expr, ok: bool, why: str = "") -> None:
        """`ok`: a type evaluated at this position is resolved by typing (the annotation
        itself, a `|` operand, an argument of typing's generics)."""
        if isinstance(node, ast.Name):
            if node.id in self.names and not ok and node.id not in self.problems:
                self.problems[node.id] = f"{why} in an annotation ({self.where}:{node.lineno})"
            return
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                parsed = ast.parse(node.value.strip(), mode="eval").body
            except SyntaxError:
                return
            # String positions report the string's line. Only nodes that have positions:
            # Load/Store/operator nodes are process-wide singletons shared by every tree.
            for sub in ast.walk(parsed):
                if "lineno" in sub._attributes:
                    sub.lineno = node.lineno  # type: ignore[attr-defined]
            self.visit(parsed, ok, why)
            return
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            self.visit(node.left, ok, why)
            self.visit(node.right, ok, why)
            return
        if isinstance(node, ast.Subscript):
            value = node.value
            if isinstance(value, ast.Name) and value.id in self.names:
                self.problems.setdefault(value.id, f"subscripted (`{value.id}[...]`) in an "
                                                   f"annotation ({self.where}:{node.lineno})")
            else:
                self.visit(value, False, "used")
            inner_ok = ok and self._typing_generic(value)
            label = ast.unparse(value)
            inner_why = why if not ok else f"an argument of `{label}[...]` (not one of " \
                                           f"typing's generics)"
            slice_ = node.slice
            items = slice_.elts if isinstance(slice_, ast.Tuple) else [slice_]
            for item in items:
                if isinstance(item, ast.List):  # Callable[[X, Y], Z]
                    for element in item.elts:
                        self.visit(element, inner_ok, inner_why)
                else:
                    self.visit(item, inner_ok, inner_why)
            return
        if isinstance(node, ast.Attribute):
            root = node.value
            if isinstance(root, ast.Name) and root.id in self.names:
                self.problems.setdefault(root.id, f"`{ast.unparse(node)}` read in an "
                                                  f"annotation ({self.where}:{node.lineno})")
                return
            self.visit(root, False, "used")
            return
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self.visit(child, False, f"used inside `{ast.unparse(node)[:40]}`")
