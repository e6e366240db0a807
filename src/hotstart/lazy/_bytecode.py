"""What the lazy-import hook reads from a module's code object (CPython 3.11+ bytecode).

- `statement_at`: whether a frame is at an import statement that PEP 810 calls potentially
  lazy (an ``IMPORT_NAME`` of that module, outside every ``try``/``with`` block).
- `bound_names`, `stored_name`: the names the statement binds.
- `module_facts`: how the module's code uses a global name: read while the module body
  runs, read by functions (and where the first of them is made), deleted; and whether the
  module body calls code between one import statement and the next.

Instructions are found with ``bytes.find`` on ``co_code[::2]`` (the de-specialised opcodes),
and each code object is read once per module (`ModuleFacts`), so that deciding a module's
statements costs time linear in its code. Standard library only.
"""

import opcode

__all__ = ["ModuleFacts", "bound_names", "module_facts", "statement_at", "stored_name"]

_opmap = opcode.opmap
_IMPORT_NAME = _opmap["IMPORT_NAME"]
_IMPORT_FROM = _opmap["IMPORT_FROM"]
_EXTENDED_ARG = _opmap["EXTENDED_ARG"]
_CACHE = _opmap.get("CACHE", -1)
_LOAD_NAME = _opmap["LOAD_NAME"]
_LOAD_GLOBAL = _opmap["LOAD_GLOBAL"]
_LOAD_FROM_DICT_OR_GLOBALS = _opmap.get("LOAD_FROM_DICT_OR_GLOBALS", -1)  # 3.12+
_STORE_NAME = _opmap["STORE_NAME"]
_STORE_GLOBAL = _opmap["STORE_GLOBAL"]
_BUILD_TUPLE = _opmap["BUILD_TUPLE"]
_SKIPPED = frozenset((_CACHE, _EXTENDED_ARG))
_LOAD_CONST = _opmap["LOAD_CONST"]
#: Reads of a global name, and how far the argument is shifted (3.11+: LOAD_GLOBAL's low
#: bit says "push NULL").
_READS = tuple((code, shift) for code, shift in ((_LOAD_NAME, 0), (_LOAD_GLOBAL, 1),
                                                 (_LOAD_FROM_DICT_OR_GLOBALS, 0)) if code >= 0)
_DELETES = (_opmap["DELETE_NAME"], _opmap["DELETE_GLOBAL"])
#: Module-level instructions that may run a function of the module itself (a call, a
#: decorator, a class statement -- its __init_subclass__ --, a `with` block's __enter__).
_RUNS_CODE = tuple(code for name, code in _opmap.items()
                   if name.startswith("CALL") or name in ("LOAD_BUILD_CLASS", "BEFORE_WITH",
                                                          "BEFORE_ASYNC_WITH"))
#: Between ``IMPORT_NAME`` and the store of ``import a.b as c``.
_CHAIN = frozenset(_opmap[name] for name in ("IMPORT_FROM", "SWAP", "POP_TOP", "CACHE",
                                             "EXTENDED_ARG") if name in _opmap)
_CodeType = type((lambda: None).__code__)
#: Instructions between a function's creation and its store that do not use it.
_PASSIVE = frozenset(_opmap[name] for name in ("CACHE", "MAKE_FUNCTION", "SET_FUNCTION_ATTRIBUTE",
                                               "NOP") if name in _opmap)
_CO_OPTIMIZED = 1  # a function's code; class bodies and module code lack it
#: Code objects that run where they are written, though compiled as functions:
#: comprehensions (3.11) and the type-parameter scopes of PEP 695 (3.12+).
_RUN_IN_PLACE = ("<listcomp>", "<dictcomp>", "<setcomp>", "<genexpr>",
                 "<generic parameters of ")

#: Caches per code object, keyed by id(): a code object hashes its whole contents. Each
#: entry keeps its code object alive (so the id is not reused) and is checked against it;
#: bounded, because module code is usually garbage once it has run.
_CACHE_SIZE = 128
_handler_ranges: dict = {}
_module_facts: dict = {}


def _lookup(cache: dict, code):
    entry = cache.get(id(code))
    return entry[1] if entry is not None and entry[0] is code else None


def _cached(cache: dict, code, value):
    if len(cache) >= _CACHE_SIZE:
        cache.clear()
    cache[id(code)] = (code, value)
    return value


def _protected_ranges(code) -> tuple:
    """The byte ranges of `code` covered by an exception handler (3.11+ table format)."""
    ranges = _lookup(_handler_ranges, code)
    if ranges is not None:
        return ranges
    table = code.co_exceptiontable
    found = []
    index = 0
    size = len(table)

    def varint() -> int:
        nonlocal index
        byte = table[index]
        index += 1
        value = byte & 63
        while byte & 64:
            byte = table[index]
            index += 1
            value = (value << 6) | (byte & 63)
        return value

    while index < size:
        start = varint()
        length = varint()
        varint()  # handler target
        varint()  # depth and lasti flag
        found.append((start * 2, (start + length) * 2))
    return _cached(_handler_ranges, code, tuple(found))


def statement_at(frame, name: str) -> int:
    """0 if `frame` is not at a potentially lazy ``IMPORT_NAME`` of module `name`; 1 if it
    is; 2 if it is and the statement is ``import a.b as c`` (``IMPORT_FROM`` follows).

    The name check matters: C code importing through ``PyImport_Import`` (an extension
    module's init) passes the globals of whatever Python frame is running, which may be a
    module frame at an unrelated import statement."""
    code = frame.f_code
    lasti = frame.f_lasti
    raw = code.co_code
    if lasti < 0 or raw[lasti] != _IMPORT_NAME:
        return 0
    argument = raw[lasti + 1]
    shift = 8
    before = lasti - 2
    while before >= 0 and raw[before] == _EXTENDED_ARG:
        argument |= raw[before + 1] << shift
        shift += 8
        before -= 2
    names = code.co_names
    if argument >= len(names) or names[argument] != name:
        return 0
    if code.co_exceptiontable:
        for start, end in _protected_ranges(code):
            if start <= lasti < end:
                return 0
    following = lasti + 2
    while raw[following] in _SKIPPED:
        following += 2
    return 2 if raw[following] == _IMPORT_FROM else 1


def _instructions_after(code, lasti: int):
    """(op, argument) of the instructions after `lasti`, EXTENDED_ARG folded in."""
    raw = code.co_code
    index = lasti + 2
    extended = 0
    while index < len(raw):
        op = raw[index]
        argument = raw[index + 1] | extended
        index += 2
        if op == _EXTENDED_ARG:
            extended = argument << 8
            continue
        extended = 0
        yield op, argument


def bound_names(code, lasti: int) -> list | None:
    """The names a ``from ... import`` at `lasti` stores to (its ``as`` names), read from the
    ``IMPORT_FROM``/``STORE_NAME`` pairs that follow; None if the pattern is not recognised."""
    names = code.co_names
    bound = []
    for op, argument in _instructions_after(code, lasti):
        if op in (_CACHE, _IMPORT_FROM):
            continue
        if op in (_STORE_NAME, _STORE_GLOBAL) and argument < len(names):
            bound.append(names[argument])
            continue
        return bound  # the POP_TOP that ends the statement
    return None


def stored_name(code, lasti: int) -> str | None:
    """The name an ``import`` statement at `lasti` binds: the first ``STORE_NAME`` or
    ``STORE_GLOBAL`` after it (past the ``IMPORT_FROM`` chain of ``import a.b as c``)."""
    names = code.co_names
    for op, argument in _instructions_after(code, lasti):
        if op in (_STORE_NAME, _STORE_GLOBAL):
            return names[argument] if argument < len(names) else None
        if op not in _CHAIN:
            return None
    return None


def _positions(ops: bytes, op: int):
    """The instruction indexes (not byte offsets) of `op` in `ops` (``co_code[::2]``)."""
    index = ops.find(op)
    while index >= 0:
        yield index
        index = ops.find(op, index + 1)


def _argument(ops: bytes, args: bytes, index: int) -> int:
    """The argument of instruction `index`, the EXTENDED_ARG prefixes before it folded in."""
    argument = args[index]
    shift = 8
    index -= 1
    while index >= 0 and ops[index] == _EXTENDED_ARG:
        argument |= args[index] << shift
        shift += 8
        index -= 1
    return argument


class ModuleFacts:
    """How one module's code uses its global names: what the hook needs to decide whether
    a name may be left unbound until its first read (see `_hook`).

    Built once per module code object (`module_facts`); each nested code object's reads are
    indexed in one pass when a question first concerns it, so deciding a module's import
    statements costs time linear in its code, not statements times code size.
    """

    __slots__ = ("_by_name", "_calls", "_code", "_defined", "_entries", "_imports", "_reads",
                 "deleted")

    def __init__(self, code) -> None:
        self._code = code
        #: (code object, runs with the module body, creation offset) of every code object
        self._entries: list = []
        #: name -> the entries whose code names it (filled per name asked: a module names
        #: thousands, the hook asks about the few its deferred statements bind)
        self._by_name: dict = {}
        self._reads: dict = {}  # id(code object) -> (code, {name: count of reads})
        self.deleted: set = set()  # names some code deletes (`del name`)
        raw = code.co_code
        ops, args = raw[::2], raw[1::2]
        consts = code.co_consts
        created = {}  # index in co_consts -> byte offset of the LOAD_CONST making it
        for index in _positions(ops, _LOAD_CONST):
            position = _argument(ops, args, index)
            if position < len(consts) and type(consts[position]) is _CodeType:
                created.setdefault(position, index * 2)
        # the names of the functions and classes the module defines (a class body's code
        # is named after its class)
        self._defined = {const.co_name for const in consts
                         if type(const) is _CodeType and not const.co_name.startswith("<")}
        self._imports = sorted(index * 2 for index in _positions(ops, _IMPORT_NAME))
        self._calls = sorted(index * 2 for op in _RUNS_CODE for index in _positions(ops, op))
        stack = [(code, True, -1)]
        while stack:
            current, running, offset = stack.pop()
            self._entries.append((current, running, offset))
            names = current.co_names
            raw = current.co_code
            cops, cargs = raw[::2], raw[1::2]
            for op in _DELETES:
                for index in _positions(cops, op):
                    position = _argument(cops, cargs, index)
                    if position < len(names):
                        self.deleted.add(names[position])
            for position, const in enumerate(current.co_consts):
                if type(const) is _CodeType:
                    stack.append((
                        const,
                        running and (not const.co_flags & _CO_OPTIMIZED
                                     or const.co_name.startswith(_RUN_IN_PLACE)),
                        created.get(position, 0) if current is code else offset))

    def _reads_of(self, current) -> dict:
        """{name: reads} of one code object, from one pass over its read instructions."""
        entry = self._reads.get(id(current))
        if entry is not None:
            return entry[1]
        raw = current.co_code
        ops, args = raw[::2], raw[1::2]
        names = current.co_names
        found: dict = {}
        for op, shift in _READS:
            for index in _positions(ops, op):
                position = _argument(ops, args, index) >> shift
                if position < len(names):
                    name = names[position]
                    found[name] = found.get(name, 0) + 1
        self._reads[id(current)] = (current, found)
        return found

    def _naming(self, name: str) -> list:
        """The entries of the code objects that name `name` (reads, stores, attributes)."""
        found = self._by_name.get(name)
        if found is None:
            found = self._by_name[name] = [entry for entry in self._entries
                                           if name in entry[0].co_names]
        return found

    def uses(self, name: str) -> bool:
        """Whether any code of the module names `name` at all (reads, stores, attributes)."""
        return bool(self._naming(name))

    def read_while_running(self, name: str) -> bool:
        """Whether code that runs with the module body (the body, class bodies,
        comprehensions) reads global `name`."""
        return any(running and name in self._reads_of(current)
                   for current, running, _offset in self._naming(name))

    def first_function_reading(self, name: str) -> int | None:
        """The smallest module-code offset at which a function reading global `name` is
        created (a method: where its class is); None if no function reads it."""
        offsets = [offset for current, running, offset in self._naming(name)
                   if not running and name in self._reads_of(current)]
        return min(offsets) if offsets else None

    def _window_end(self, lasti: int) -> int:
        following = _after(self._imports, lasti)
        return following if following is not None else len(self._code.co_code)

    def runs_code_after(self, lasti: int) -> bool:
        """Whether the module code, between the import at `lasti` and the next import
        statement (or its end), has an instruction that may call code at all."""
        call = _after(self._calls, lasti)
        return call is not None and call < self._window_end(lasti)

    def hands_out_own_code_after(self, lasti: int) -> bool:
        """Whether the module code, between the import at `lasti` and the next import
        statement (or its end), may run a function of the module's own: it reads the name
        of a function or class the module defines (to call it, or to hand it to code that
        may), or hands a new function to a call (a decorator, a lambda argument)."""
        code = self._code
        raw, names, consts = code.co_code, code.co_names, code.co_consts
        defined = self._defined
        end = self._window_end(lasti)
        index = lasti + 2
        extended = 0
        making = False  # a function was just made: it must go straight into a name
        while index < end:
            op = raw[index]
            argument = raw[index + 1] | extended
            index += 2
            if op == _EXTENDED_ARG:
                extended = argument << 8
                continue
            extended = 0
            if op in _PASSIVE:
                continue
            if making:
                if op in (_STORE_NAME, _STORE_GLOBAL):
                    making = False
                    continue
                return True
            if op == _LOAD_CONST:
                const = consts[argument] if argument < len(consts) else None
                making = type(const) is _CodeType and bool(const.co_flags & _CO_OPTIMIZED)
            elif op == _LOAD_NAME or op == _LOAD_GLOBAL:
                position = argument >> 1 if op == _LOAD_GLOBAL else argument
                if position < len(names) and names[position] in defined:
                    return True
        return False


def _after(offsets: list, lasti: int) -> int | None:
    """The first of the sorted `offsets` greater than `lasti` (binary search)."""
    low, high = 0, len(offsets)
    while low < high:
        middle = (low + high) // 2
        if offsets[middle] <= lasti:
            low = middle + 1
        else:
            high = middle
    return offsets[low] if low < len(offsets) else None


def module_facts(code) -> ModuleFacts:
    """The `ModuleFacts` of module code `code` (cached while the code object lives)."""
    facts = _lookup(_module_facts, code)
    if facts is None:
        facts = _cached(_module_facts, code, ModuleFacts(code))
    return facts
