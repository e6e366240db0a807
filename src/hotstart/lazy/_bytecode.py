"""What the lazy-import hook reads from a module's code object (CPython 3.11+ bytecode).

- `statement_at`: whether a frame is at an import statement that PEP 810 calls potentially
  lazy (an ``IMPORT_NAME`` of that module, outside every ``try``/``with`` block).
- `bound_names`, `stored_name`: the names the statement binds.
- `needs_real_object`, `read_anywhere`: how the module uses a global name: read while the
  module body runs, used where a lazy stand-in cannot forward (``is``, ``except``,
  ``raise``), or read at all.

Instructions are found with ``bytes.find`` on ``co_code`` (the de-specialised bytecode),
and each module's code objects are indexed once by the names they use, so that a statement
costs lookups, not a walk over the module's functions. Standard library only.
"""

import opcode

__all__ = ["bound_names", "needs_real_object", "read_anywhere", "statement_at",
           "stored_name"]

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
#: Instructions that take an object as it is, past any forwarding a lazy object does:
#: identity (also `x is None` compiled to a jump), exception matching, raise, `case Cls()`.
_TAKES_ITSELF = frozenset(
    [_opmap[name] for name in ("IS_OP", "CHECK_EXC_MATCH", "CHECK_EG_MATCH", "RAISE_VARARGS",
                               "MATCH_CLASS")
     if name in _opmap]
    + [code for name, code in _opmap.items() if name.endswith(("IF_NONE", "IF_NOT_NONE"))])
#: Instructions that only push another operand (between a load and its consumer).
_OPERAND_LOADS = frozenset(code for name, code in _opmap.items()
                           if name.startswith("LOAD_") or name in ("PUSH_NULL", "COPY"))
_ATTRIBUTE_READS = frozenset(_opmap[name] for name in ("LOAD_ATTR", "LOAD_METHOD")
                             if name in _opmap)
#: Between ``IMPORT_NAME`` and the store of ``import a.b as c``.
_CHAIN = frozenset(_opmap[name] for name in ("IMPORT_FROM", "SWAP", "POP_TOP", "CACHE",
                                             "EXTENDED_ARG") if name in _opmap)
_CodeType = type((lambda: None).__code__)
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
_name_indexes: dict = {}


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


def _name_index(code) -> dict:
    """{name: [(code object, runs while the module runs), ...]} over the module code `code`
    and every code object nested in it, for the names each one uses."""
    index = _lookup(_name_indexes, code)
    if index is not None:
        return index
    index = {}
    stack = [(code, True)]
    while stack:
        current, running = stack.pop()
        entry = (current, running)
        for name in set(current.co_names):
            index.setdefault(name, []).append(entry)
        for const in current.co_consts:
            if type(const) is _CodeType:
                stack.append((const, running and (not const.co_flags & _CO_OPTIMIZED
                                                  or const.co_name.startswith(_RUN_IN_PLACE))))
    return _cached(_name_indexes, code, index)


def _load_patterns(position: int) -> tuple:
    """((bytes pattern, offset of the load in it), ...) of the instructions that read the
    global at `position` in ``co_names``. An argument below 256 may also match an
    instruction with that low byte after an EXTENDED_ARG (callers only become more eager)."""
    patterns = _patterns.get(position)
    if patterns is not None:
        return patterns
    found = []
    for op, argument in ((_LOAD_NAME, position), (_LOAD_GLOBAL, position << 1),
                         (_LOAD_GLOBAL, (position << 1) | 1),
                         (_LOAD_FROM_DICT_OR_GLOBALS, position)):
        if op < 0:
            continue
        if argument > 0xFFFF:  # never in practice: two EXTENDED_ARGs; matches any load
            found.append((bytes((op,)), 0))
        elif argument > 0xFF:
            found.append((bytes((_EXTENDED_ARG, argument >> 8, op, argument & 0xFF)), 2))
        else:
            found.append((bytes((op, argument)), 0))
    patterns = _patterns[position] = tuple(found)
    return patterns


_patterns: dict = {}


def _load_offsets(code, name: str) -> list:
    """The offsets of the instructions of `code` that read global `name`."""
    raw = code.co_code
    found = []
    for pattern, skip in _load_patterns(code.co_names.index(name)):
        offset = raw.find(pattern)
        while offset >= 0:
            if not offset % 2:
                found.append(offset + skip)
            offset = raw.find(pattern, offset + 1)
    return found


def _consumed_as_itself(raw: bytes, offset: int) -> bool:
    """Whether the value loaded at `offset` meets an instruction that takes the object as it
    is: ``is``, ``except``/``except*`` matching, ``raise``. Attribute reads, calls and
    operators (which a lazy object forwards) end the search."""
    index = offset + 2
    first = True
    while index < len(raw):
        op = raw[index]
        index += 2
        if op in _SKIPPED:
            continue
        if op in _TAKES_ITSELF:
            return True
        if op == _BUILD_TUPLE:  # except (A, B):
            while index < len(raw) and raw[index] in _SKIPPED:
                index += 2
            return index < len(raw) and raw[index] in _TAKES_ITSELF
        if op not in _OPERAND_LOADS or (first and op in _ATTRIBUTE_READS):
            return False
        first = False
    return False


def needs_real_object(code, name: str) -> bool:
    """Whether module code `code` needs global `name` to be the real object: a read while
    the module runs (its body, class bodies, comprehensions: PEP 810 reifies the name there
    anyway), or anywhere a use that a lazy object cannot forward (``x is name``, ``except
    name``, ``raise name``)."""
    for current, running in _name_index(code).get(name, ()):
        offsets = _load_offsets(current, name)
        if offsets and running:
            return True
        raw = current.co_code
        for offset in offsets:
            if _consumed_as_itself(raw, offset):
                return True
    return False


def read_anywhere(code, name: str | None) -> bool:
    """Whether any code of module code `code` (functions included) reads global `name`."""
    return name is not None and any(
        _load_offsets(current, name) for current, _running in _name_index(code).get(name, ()))
