"""Whether a dict changed since it was last looked at, without comparing it item by item.

A worker checks after every task that the task left ``sys.modules``, the builtins and the
environment as they were (`_isolation`, `_worker`). Compared item by item, ``sys.modules``
alone (580 entries with pandas loaded) cost a no-op task ~15 µs, a quarter of the worker's
CPU per task. CPython 3.11-3.13 keep a version tag in every dict (PEP 509,
``PyDictObject.ma_version_tag``), which the interpreter changes at every insertion,
replacement and deletion, whatever the caller (Python code, ``dict.update``, C code): the
same tag means the same contents, and the item-by-item comparison runs only when it moved.

`reader` returns the function that reads the tag, or None where it cannot be trusted, and
then every check compares items as before; `stamp` and `unchanged` are what the checks use:

- the tag is read at a fixed offset (after the object header and ``ma_used``), so `reader`
  first proves the layout on scratch dicts: ``ma_used`` read there must equal ``len()``
  for several sizes, and the tag must change at each kind of change, with no two tags
  alike;
- CPython 3.14 removed the tag (PEP 509 was withdrawn): None there, and on other
  interpreters and on free-threaded builds (a larger object header), without trying.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["reader", "stamp", "unchanged"]

_checked: list = []  # [reader or None] once proved (one answer per process)


def reader() -> Callable[[dict], int] | None:
    """``version(d)``: the version tag of dict `d`, or None where it cannot be trusted."""
    if not _checked:
        _checked.append(_prove())
    return _checked[0]


def stamp(d: dict) -> tuple[int, int] | None:
    """The dict's identity and version tag, to compare with a later stamp (`unchanged`);
    None where tags cannot be read."""
    version = _checked[0] if _checked else reader()
    return (id(d), version(d)) if version is not None else None


def unchanged(d: dict, recorded: tuple[int, int] | None) -> bool:
    """Whether `d` is the dict `recorded` was stamped from, unchanged since; False when
    there is no stamp (tags cannot be read: compare the items)."""
    return recorded is not None and recorded == stamp(d)


def _prove() -> Callable[[dict], int] | None:
    if (sys.implementation.name != "cpython" or not (3, 11) <= sys.version_info < (3, 14)
            or getattr(sys, "_is_gil_enabled", lambda: True)() is False
            or hasattr(sys, "getobjects")):  # a debug (trace-refs) build: a larger header
        return None
    try:
        import ctypes
    except ImportError:
        return None
    header = ctypes.sizeof(ctypes.c_ssize_t) + ctypes.sizeof(ctypes.c_void_p)
    used_at = header
    tag_at = header + ctypes.sizeof(ctypes.c_ssize_t)
    if sys.getsizeof({}) < tag_at + ctypes.sizeof(ctypes.c_uint64):
        return None
    ssize, uint64 = ctypes.c_ssize_t, ctypes.c_uint64

    def version(d: dict) -> int:
        return uint64.from_address(id(d) + tag_at).value

    def used(d: dict) -> int:
        return ssize.from_address(id(d) + used_at).value

    try:
        probe: dict = {}
        tags = [version(probe)]
        for size in range(1, 12):  # insertions, past a resize
            probe[f"k{size}"] = size
            if used(probe) != len(probe):
                return None
            tags.append(version(probe))
        probe["k1"] = "replaced"
        tags.append(version(probe))
        del probe["k2"]
        tags.append(version(probe))
        probe.update({"k3": "updated"})
        tags.append(version(probe))
        probe.pop("k4")
        tags.append(version(probe))
        before = version(probe)
        probe.get("k5"), list(probe.items()), "k6" in probe  # reading changes nothing
        if version(probe) != before:
            return None
        probe.clear()
        tags.append(version(probe))
        if used(probe) != 0 or len(set(tags[1:])) != len(tags) - 1:
            return None
        other = {"k1": 1}
        if used(other) != 1 or version(other) in tags:
            return None
    except (OSError, ValueError, OverflowError):
        return None
    return version
