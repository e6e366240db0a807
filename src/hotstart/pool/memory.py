"""How much memory this process may use: cgroup v2, then cgroup v1, then ``/proc/meminfo``.

Inside a container ``/proc/meminfo`` describes the node, not the pod: a pool sized from it
forks workers until the kernel's OOM killer steps in. The limit that applies is the memory
cgroup's, so `read_limits` looks there first:

1. cgroup v2: the ``0::/path`` line of ``/proc/self/cgroup`` names this process's cgroup;
   ``memory.max`` (``max`` = unlimited) and ``memory.current`` are read in that cgroup's
   directory and in each ancestor up to the mount point, because a parent's limit applies to
   its whole subtree.
2. cgroup v1: the ``N:memory:/path`` line (the controller may share a line, ``N:cpu,memory:``);
   ``memory.limit_in_bytes`` and ``memory.usage_in_bytes``, ancestors included (up to, not
   including, an ancestor whose ``memory.use_hierarchy`` is ``0``: it does not account its
   children, so its limit does not apply to them). Values of at least 2**60 (the kernel
   writes ``9223372036854771712``, PAGE_COUNTER_MAX times the page size, for "no limit") and
   ``-1`` mean unlimited; so do the same values in v2.
3. ``/proc/meminfo``: ``MemTotal`` is the limit, ``MemTotal - MemAvailable`` the use (the whole
   machine's, including other processes'; None on kernels without ``MemAvailable``).
4. Only when reading the real filesystem (``root="/"``), the physical memory size from
   ``os.sysconf`` (systems without ``/proc``: macOS, BSD), with ``current`` None. Else
   ``MemoryLimits(None, None, "unknown")``.

The cgroup directory is found through ``/proc/self/mountinfo`` (mount point and the part of
the hierarchy it shows), so a container that sees only its own subtree at ``/sys/fs/cgroup``
while ``/proc/self/cgroup`` shows the host path (Docker with cgroup v1 or without a cgroup
namespace) is read correctly; without mountinfo the usual mount points are assumed
(``/sys/fs/cgroup`` for v2, ``/sys/fs/cgroup/memory`` for v1). A source is used when some
level of the hierarchy has a readable limit or usage file; otherwise (no cgroup, controller
not enabled, a path outside our namespace such as ``/../x``, garbage or unreadable files) the
next source is tried. Nothing here raises for a missing, unreadable or malformed file.

Which limit is reported: among the levels with a limit, the one with the least headroom
(limit - that level's usage) binds, because a parent's usage includes siblings' memory; its
limit and usage are returned and the source names its directory. When usage is unreadable,
the smallest limit binds. When every level is unlimited, ``limit`` is None, ``current`` is
the cgroup's own usage and the source stays the cgroup (``/proc/meminfo`` is not consulted:
the cgroup is still the right place to read usage, and a caller that also wants the
machine's size can call ``read_limits`` on a tree without cgroups, or read meminfo itself).

Usage includes the page cache the kernel can reclaim, so `available` errs on the low side.

Standard library only; importing this module imports nothing but ``os``.
"""

import os

TYPE_CHECKING = False  # not `from typing import ...`: typing alone costs milliseconds
if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["oom_kills", "MemoryLimits", "read_limits", "available", "sample"]

_HUGE = 1 << 60  # at or above: "no limit" (v1 writes LONG_MAX rounded down to a page)
_UNLIMITED = -1  # internal marker returned by _limit_value


class MemoryLimits:
    """A memory limit, the usage it applies to, and where both were read.

    limit:   bytes the process may use (its binding cgroup's, or the machine's); None when
             unlimited or unknown.
    current: bytes in use, counted where `limit` applies (the cgroup's usage, or the whole
             machine's for ``/proc/meminfo``); None when unknown.
    source:  ``"cgroup v2 DIR"``, ``"cgroup v1 DIR"`` (DIR: the cgroup directory read, under
             `read_limits`'s root), the path of the ``meminfo`` file read,
             ``"sysconf(SC_PHYS_PAGES)"`` or ``"unknown"``.

    Unpacks like a tuple: ``limit, current, source = read_limits()``.
    """

    __slots__ = ("limit", "current", "source")

    def __init__(self, limit: "int | None", current: "int | None", source: str) -> None:
        self.limit = limit
        self.current = current
        self.source = source

    @property
    def available(self) -> "int | None":
        """``limit - current`` in bytes, at least 0; None when either is unknown/unlimited."""
        if self.limit is None or self.current is None:
            return None
        return max(0, self.limit - self.current)

    def __iter__(self) -> "Iterator[int | str | None]":
        return iter((self.limit, self.current, self.source))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MemoryLimits):
            return NotImplemented
        return (self.limit, self.current, self.source) == (other.limit, other.current,
                                                           other.source)

    def __hash__(self) -> int:
        return hash((self.limit, self.current, self.source))

    def __repr__(self) -> str:
        return f"MemoryLimits(limit={self.limit!r}, current={self.current!r}, " \
               f"source={self.source!r})"


def _read(path: str) -> "str | None":
    """The text of `path`, or None when it cannot be read or decoded."""
    try:
        with open(path, "rb") as file:
            data = file.read(1 << 24)  # bounded: a path may lead to something endless
        return data.decode("utf-8", "surrogateescape")
    except (OSError, ValueError):
        return None


def _limit_value(path: str) -> "int | None":
    """Bytes from a limit file; `_UNLIMITED` for ``max``/-1/huge; None if unreadable/garbage."""
    text = _read(path)
    if text is None:
        return None
    text = text.strip()
    if text == "max" or text == "-1":
        return _UNLIMITED
    try:
        value = int(text)
    except ValueError:
        return None
    if value >= _HUGE:
        return _UNLIMITED
    return value if value >= 0 else None


def _usage_value(path: str) -> "int | None":
    """Bytes from a usage file; None if unreadable, garbage, negative or a sentinel."""
    value = _limit_value(path)
    return None if value == _UNLIMITED else value


def _join(root: str, path: str) -> str:
    return os.path.join(root, path.lstrip("/"))


def _cgroup_paths(root: str) -> "tuple[str | None, str | None]":
    """(v2 path, v1 memory path) from ``/proc/self/cgroup``; None where absent."""
    v2 = v1 = None
    text = _read(_join(root, "proc/self/cgroup"))
    for line in (text or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        number, controllers, path = parts
        if number == "0" and controllers == "":
            v2 = path
        elif "memory" in controllers.split(","):
            v1 = path
    return v2, v1


def _unescape(field: str) -> str:
    """Undo mountinfo's octal escapes (``\\040`` for a space, ...)."""
    if "\\" not in field:
        return field
    out, i = [], 0
    while i < len(field):
        code = field[i + 1:i + 4]
        if field[i] == "\\" and len(code) == 3 and all(c in "01234567" for c in code):
            out.append(chr(int(code, 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def _mounts(root: str, version: int) -> "list[tuple[str, str]] | None":
    """(hierarchy root, mount point) of each cgroup `version` mount (v1: with the memory
    controller), from mountinfo; None when mountinfo is unreadable or lists no such mount."""
    text = _read(_join(root, "proc/self/mountinfo"))
    if text is None:
        return None
    found = []
    for line in text.splitlines():
        # ID PARENT MAJ:MIN ROOT MOUNT-POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER-OPTIONS
        fields = line.split()
        try:
            separator = fields.index("-", 6)
        except ValueError:
            continue
        if len(fields) < separator + 4:
            continue
        fstype, options = fields[separator + 1], fields[separator + 3]
        if (fstype == "cgroup2" if version == 2
                else fstype == "cgroup" and "memory" in options.split(",")):
            found.append((_unescape(fields[3]), _unescape(fields[4])))
    return found or None


def _levels(root: str, cgroup: str, version: int) -> "list[list[str]]":
    """For each candidate directory of `cgroup`: the directories from the cgroup up to its
    mount point, leaf first (all under `root`)."""
    parts = [part for part in cgroup.split("/") if part and part != "."]
    if ".." in parts:  # outside our cgroup namespace: not reachable through the mount
        return []
    mounts = _mounts(root, version)
    if mounts is None:
        mounts = [("/", "/sys/fs/cgroup" if version == 2 else "/sys/fs/cgroup/memory")]
    candidates = []
    for hierarchy_root, mount_point in mounts:
        base = [part for part in hierarchy_root.split("/") if part]
        if parts[:len(base)] != base:
            continue
        relative = parts[len(base):]
        top = _join(root, mount_point)
        chain = [os.path.join(top, *relative[:depth]) for depth in range(len(relative), -1, -1)]
        if chain not in candidates:
            candidates.append(chain)
    return candidates


_FILES = {2: ("memory.max", "memory.current"),
          1: ("memory.limit_in_bytes", "memory.usage_in_bytes")}


def _from_cgroup(root: str, cgroup: "str | None", version: int) -> "MemoryLimits | None":
    if cgroup is None:
        return None
    limit_file, usage_file = _FILES[version]
    for chain in _levels(root, cgroup, version):
        levels = []  # (directory, limit or _UNLIMITED or None, usage or None)
        for directory in chain:
            hierarchy = _read(os.path.join(directory, "memory.use_hierarchy")) \
                if levels and version == 1 else None
            if hierarchy is not None and hierarchy.strip() == "0":
                break  # a parent that does not account its children: its limit is not ours
            levels.append((directory, _limit_value(os.path.join(directory, limit_file)),
                           _usage_value(os.path.join(directory, usage_file))))
        if all(limit is None and usage is None for _, limit, usage in levels):
            continue  # no memory controller here: try the next candidate, then the next source
        # usage of the closest level that reports it: stands in for levels that do not
        nearest = next((usage for _, _, usage in levels if usage is not None), None)
        limited = [(directory, limit, usage if usage is not None else nearest)
                   for directory, limit, usage in levels
                   if limit is not None and limit != _UNLIMITED]
        kind = f"cgroup v{version} "
        if not limited:
            directory = next((d for d, _, usage in levels if usage is not None), levels[0][0])
            return MemoryLimits(None, nearest, kind + directory)
        if nearest is None:
            directory, limit, usage = min(limited, key=lambda level: level[1])
        else:
            # least headroom binds; ties: the smaller limit, then the deeper level (first)
            directory, limit, usage = min(limited, key=lambda level: (level[1] - level[2],
                                                                      level[1]))
        return MemoryLimits(limit, usage, kind + directory)
    return None


def _from_meminfo(root: str) -> "MemoryLimits | None":
    path = _join(root, "proc/meminfo")
    text = _read(path)
    if text is None:
        return None
    values = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        fields = rest.split()
        if not fields:
            continue
        try:
            number = int(fields[0])
        except ValueError:
            continue
        unit = fields[1].lower() if len(fields) > 1 else ""
        values[name.strip()] = number * 1024 if unit == "kb" else number
    total = values.get("MemTotal")
    if total is None or total <= 0:
        return None
    free = values.get("MemAvailable")
    current = total - free if free is not None and 0 <= free <= total else None
    return MemoryLimits(total, current, path)


def _from_sysconf() -> "MemoryLimits | None":
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
    return MemoryLimits(total, None, "sysconf(SC_PHYS_PAGES)") if total > 0 else None


def read_limits(root: str = "/") -> MemoryLimits:
    """The memory limit of this process and the usage it applies to (see the module doc).

    `root` is the directory the system paths (``proc/self/cgroup``, ``proc/self/mountinfo``,
    ``sys/fs/cgroup/...``, ``proc/meminfo``) are read under: ``"/"`` for the real system, a
    fake tree in tests. Never raises for missing, unreadable or malformed files; returns
    ``MemoryLimits(None, None, "unknown")`` when no source can be read.
    """
    v2, v1 = _cgroup_paths(root)
    found = _from_cgroup(root, v2, 2) or _from_cgroup(root, v1, 1) or _from_meminfo(root)
    if found is None and os.path.normpath(root) == os.sep:
        found = _from_sysconf()
    return found or MemoryLimits(None, None, "unknown")


def oom_kills(root: str = "/") -> "int | None":
    """How many processes the kernel's OOM killer has killed in this process's memory cgroup
    and the cgroups above it (the sum of their ``oom_kill`` counters: ``memory.events`` in
    v2, ``memory.oom_control`` in v1), or None without such counters. Only its increase
    means something: the pool compares it before and after a worker dies of SIGKILL."""
    v2, v1 = _cgroup_paths(root)
    for version, cgroup in ((2, v2), (1, v1)):
        if cgroup is None:
            continue
        name = "memory.events" if version == 2 else "memory.oom_control"
        for chain in _levels(root, cgroup, version):
            total = None
            for directory in chain:
                for line in (_read(os.path.join(directory, name)) or "").splitlines():
                    key, _, value = line.partition(" ")
                    if key == "oom_kill" and value.strip().isdigit():
                        total = (total or 0) + int(value)
            if total is not None:
                return total
    return None


def available(root: str = "/") -> "int | None":
    """Bytes this process can still allocate before its limit: ``limit - current`` from
    `read_limits` (at least 0), or None when the limit is unlimited or either is unknown."""
    return read_limits(root).available


_sampled: "tuple[float, MemoryLimits] | None" = None


def sample(max_age: float = 0.25) -> MemoryLimits:
    """`read_limits()` of this process, read again only when the last reading is older than
    `max_age` seconds: what every task's metrics carry (``TaskMetrics.memory``) without
    reading the cgroup's files once per task."""
    global _sampled
    import time

    now = time.monotonic()
    if _sampled is None or now - _sampled[0] > max_age:
        _sampled = (now, read_limits())
    return _sampled[1]
