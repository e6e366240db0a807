"""The process's C environment (``char **environ``), read directly: whether a task changed it,
and putting it back.

``os.environ`` is a copy made at start-up; what a subprocess, ``exec`` or a C library's
``getenv`` sees is the C array, which a task changes behind ``os.environ``'s back with
``os.putenv``/``os.unsetenv`` (or ``posix.putenv``), ``setenv`` through ctypes, or a C
extension calling ``setenv``. A wrapper around ``os.putenv`` sees only the first way; the
array itself tells all of them.

- `stamp` records where the array is and its slots (the pointers to the ``"KEY=value"``
  strings, and the terminating NULL): any ``setenv``, ``putenv``, ``unsetenv`` or
  ``clearenv`` writes a slot or moves the array (glibc: a replaced value is a new string in
  its slot, an added one a slot more or a new array, a removed one shifts the slots down);
  `unchanged` compares one read of those bytes with the stamp (about 1 µs for 40
  variables);
- `entries` reads the strings (only when the stamp moved), and `restore` puts the array's
  contents back to a recorded list: `unsetenv` what was added, `putenv` what was removed
  or changed.

`available` is False where the array cannot be found (no ``environ`` symbol through
ctypes, or no ctypes): the caller falls back to recording ``os.putenv``/``os.unsetenv``.
Linux only, as the pool is; standard library only.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Stamp", "available", "entries", "restore", "stamp", "unchanged"]

#: (address of the array, number of variables, the bytes of its slots and NULL)
Stamp = tuple[int, int, bytes]

# A process with more variables than this is not tracked (the caller falls back).
_MOST = 1 << 16
_found: list = []  # [(ctypes, the `environ` variable, char** type) or None], once


def _pointer():
    if not _found:
        try:
            import ctypes

            variable = ctypes.c_void_p.in_dll(ctypes.CDLL(None), "environ")
            _found.append((ctypes, variable, ctypes.POINTER(ctypes.c_char_p)))
        except (ImportError, OSError, ValueError, AttributeError):
            _found.append(None)
    return _found[0]


def available() -> bool:
    """Whether the C environment can be read here."""
    return _pointer() is not None


def entries() -> list[bytes] | None:
    """The ``KEY=value`` strings of the C environment, in order; None if it cannot be read
    (or holds more than `_MOST`)."""
    found = _pointer()
    if found is None:
        return None
    ctypes, variable, strings = found
    base = variable.value
    if not base:  # clearenv() leaves environ NULL
        return []
    array = ctypes.cast(base, strings)
    out = []
    for index in range(_MOST):
        value = array[index]
        if value is None:
            return out
        out.append(value)
    return None


def stamp() -> Stamp | None:
    """Where the C environment is and what its slots hold, to compare later (`unchanged`);
    None if it cannot be read."""
    found = _pointer()
    if found is None:
        return None
    ctypes, variable, _strings = found
    base = variable.value
    if not base:
        return (0, 0, b"")
    count = len(entries() or ())
    return (base, count, ctypes.string_at(base, (count + 1) * ctypes.sizeof(ctypes.c_void_p)))


def unchanged(recorded: Stamp | None) -> bool:
    """Whether the C environment is as `recorded` (False when there is no stamp)."""
    if recorded is None:
        return False
    found = _pointer()
    if found is None:
        return False
    ctypes, variable, _strings = found
    base, _count, slots = recorded
    if variable.value != base:
        return False
    # The array at the same address holds at least as many slots as when stamped (glibc
    # grows it in place or moves it; unsetenv shifts slots down within it).
    return base == 0 or ctypes.string_at(base, len(slots)) == slots


def restore(recorded: list[bytes], putenv: Callable[[bytes, bytes], None],
            unsetenv: Callable[[bytes], None]) -> None:
    """Make the C environment hold exactly the ``KEY=value`` strings of `recorded` (order
    aside), through the real `putenv` and `unsetenv`."""
    now = entries()
    if now is None:
        return
    wanted = dict(_split(entry) for entry in recorded)
    present = dict(_split(entry) for entry in now)
    for key in present.keys() - wanted.keys():
        unsetenv(key)
    for key, value in wanted.items():
        if present.get(key) != value:
            putenv(key, value)


def _split(entry: bytes) -> tuple[bytes, bytes]:
    key, _, value = entry.partition(b"=")
    if not key:  # "=value" (possible from C): the key is what the next "=" leaves
        rest, _, value = value.partition(b"=")
        key = b"=" + rest
    return key, value
