"""hotstart.pool.memory: fake /proc and /sys trees (real files, real parsing), and this machine."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

from hotstart.pool.memory import MemoryLimits, available, read_limits

MiB = 1 << 20
GiB = 1 << 30

MEMINFO = """\
MemTotal:       16384000 kB
MemFree:         1024000 kB
MemAvailable:   12288000 kB
Buffers:          204800 kB
"""
MEMINFO_LIMIT = 16384000 * 1024
MEMINFO_CURRENT = (16384000 - 12288000) * 1024


def tree(base: pathlib.Path, files: dict[str, str | bytes | None]) -> str:
    """Write {relative path: content} under `base` (None: a directory); returns `base`."""
    for relative, content in files.items():
        path = base / relative
        if content is None:
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return str(base)


def v2(base: pathlib.Path, cgroup: str, levels: dict[str, tuple[str | None, str | None]],
       **extra: str | bytes | None) -> str:
    """A cgroup v2 tree: this process in `cgroup`; levels {cgroup path: (memory.max,
    memory.current)} (None: file absent); plus `extra` files ({"proc/meminfo": ...})."""
    files: dict[str, str | bytes | None] = {"proc/self/cgroup": f"0::{cgroup}\n"}
    for path, (limit, current) in levels.items():
        directory = "sys/fs/cgroup" + path.rstrip("/")
        files[directory] = None
        if limit is not None:
            files[f"{directory}/memory.max"] = limit + "\n"
        if current is not None:
            files[f"{directory}/memory.current"] = current + "\n"
    files.update({name.replace("__", "/"): value for name, value in extra.items()})
    return tree(base, files)


def v1(base: pathlib.Path, cgroup: str, levels: dict[str, tuple[str | None, str | None]],
       controllers: str = "memory", **extra: str | bytes | None) -> str:
    """A cgroup v1 tree (hybrid: with an empty v2 line), like `v2`."""
    files: dict[str, str | bytes | None] = {
        "proc/self/cgroup": f"12:pids:/\n11:{controllers}:{cgroup}\n1:name=systemd:/\n0::/\n"}
    for path, (limit, usage) in levels.items():
        directory = "sys/fs/cgroup/memory" + path.rstrip("/")
        files[directory] = None
        if limit is not None:
            files[f"{directory}/memory.limit_in_bytes"] = limit + "\n"
        if usage is not None:
            files[f"{directory}/memory.usage_in_bytes"] = usage + "\n"
    files.update({name.replace("__", "/"): value for name, value in extra.items()})
    return tree(base, files)


def cgdir(root: str, path: str) -> str:
    return os.path.join(root, path.lstrip("/"))


# -- cgroup v2 ------------------------------------------------------------------------------


def test_v2_numeric_limit(tmp_path: pathlib.Path) -> None:
    root = v2(tmp_path, "/kubepods/pod1/ctr", {
        "/": (None, None),
        "/kubepods": ("max", str(8 * GiB)),
        "/kubepods/pod1": ("max", str(200 * MiB)),
        "/kubepods/pod1/ctr": (str(512 * MiB), str(100 * MiB)),
    }, proc__meminfo=MEMINFO)
    found = read_limits(root)
    assert found == MemoryLimits(512 * MiB, 100 * MiB,
                                 "cgroup v2 " + cgdir(root, "sys/fs/cgroup/kubepods/pod1/ctr"))
    assert os.path.isdir(found.source.removeprefix("cgroup v2 "))
    assert available(root) == 412 * MiB == found.available


def test_v2_max_in_leaf_numeric_parent_wins(tmp_path: pathlib.Path) -> None:
    root = v2(tmp_path, "/kubepods/pod1/ctr", {
        "/kubepods": ("max", str(8 * GiB)),
        "/kubepods/pod1": (str(GiB), str(300 * MiB)),
        "/kubepods/pod1/ctr": ("max", str(250 * MiB)),
    }, proc__meminfo=MEMINFO)
    assert read_limits(root) == MemoryLimits(
        GiB, 300 * MiB, "cgroup v2 " + cgdir(root, "sys/fs/cgroup/kubepods/pod1"))
    assert available(root) == GiB - 300 * MiB


def test_v2_tightest_is_the_least_headroom(tmp_path: pathlib.Path) -> None:
    # the parent's usage includes a sibling: its 4 GiB limit leaves less room than our 2 GiB
    root = v2(tmp_path / "a", "/pod/ctr", {
        "/pod": (str(4 * GiB), str(4 * GiB - 100 * MiB)),
        "/pod/ctr": (str(2 * GiB), str(512 * MiB)),
    })
    assert read_limits(root).source.endswith("/sys/fs/cgroup/pod")
    assert available(root) == 100 * MiB
    # the usual case: our own limit is both the smallest and the tightest
    root = v2(tmp_path / "b", "/pod/ctr", {
        "/pod": (str(4 * GiB), str(600 * MiB)),
        "/pod/ctr": (str(GiB), str(512 * MiB)),
    })
    assert read_limits(root) == MemoryLimits(GiB, 512 * MiB,
                                             "cgroup v2 " + cgdir(root, "sys/fs/cgroup/pod/ctr"))
    # a level whose usage is unreadable is judged with the closest usage (the leaf's)
    root = v2(tmp_path / "c", "/pod/ctr", {
        "/pod": (str(GiB), None),
        "/pod/ctr": ("max", str(512 * MiB)),
    })
    assert read_limits(root) == MemoryLimits(GiB, 512 * MiB,
                                             "cgroup v2 " + cgdir(root, "sys/fs/cgroup/pod"))
    # no usage anywhere: the smallest limit
    root = v2(tmp_path / "d", "/pod/ctr", {
        "/pod": (str(GiB), None),
        "/pod/ctr": (str(2 * GiB), None),
    })
    assert read_limits(root) == MemoryLimits(GiB, None,
                                             "cgroup v2 " + cgdir(root, "sys/fs/cgroup/pod"))
    assert available(root) is None


def test_v2_max_everywhere_is_unlimited_and_stays_cgroup(tmp_path: pathlib.Path) -> None:
    # Decision: limit None (the cgroup does not limit us), usage still the cgroup's own, and
    # /proc/meminfo is not consulted although it exists.
    root = v2(tmp_path, "/user.slice/session-1.scope", {
        "/user.slice": ("max", str(3 * GiB)),
        "/user.slice/session-1.scope": ("max", str(700 * MiB)),
    }, proc__meminfo=MEMINFO)
    found = read_limits(root)
    assert found == MemoryLimits(
        None, 700 * MiB, "cgroup v2 " + cgdir(root, "sys/fs/cgroup/user.slice/session-1.scope"))
    assert available(root) is None


def test_v2_root_cgroup_has_no_memory_files_so_meminfo(tmp_path: pathlib.Path) -> None:
    # a host process in the root cgroup: the root has no memory.max/memory.current
    root = v2(tmp_path, "/", {"/": (None, None)}, proc__meminfo=MEMINFO)
    assert read_limits(root) == MemoryLimits(MEMINFO_LIMIT, MEMINFO_CURRENT,
                                             cgdir(root, "proc/meminfo"))


def test_v2_huge_number_is_unlimited(tmp_path: pathlib.Path) -> None:
    root = v2(tmp_path, "/a", {"/a": (str(2**63 - 1), "4096")})
    assert read_limits(root).limit is None


def test_v2_path_outside_our_namespace_falls_through(tmp_path: pathlib.Path) -> None:
    root = v2(tmp_path, "/../../other", {"/other": ("4096", "1024")}, proc__meminfo=MEMINFO)
    assert read_limits(root).source == cgdir(root, "proc/meminfo")


def test_v2_found_through_mountinfo(tmp_path: pathlib.Path) -> None:
    # cgroup2 mounted somewhere unusual (with an escaped space), showing a subtree
    mountinfo = ("25 1 0:22 / / rw,relatime - ext4 /dev/sda1 rw\n"
                 "30 25 0:26 /kubepods /cg\\040two rw,nosuid shared:9 - cgroup2 cgroup2 rw\n")
    root = tree(tmp_path, {
        "proc/self/cgroup": "0::/kubepods/pod1\n",
        "proc/self/mountinfo": mountinfo,
        "cg two/pod1/memory.max": str(GiB),
        "cg two/pod1/memory.current": str(MiB),
        "sys/fs/cgroup/kubepods/pod1/memory.max": "1",  # the usual place: not used
    })
    assert read_limits(root) == MemoryLimits(GiB, MiB, "cgroup v2 " + cgdir(root, "cg two/pod1"))


# -- cgroup v1 ------------------------------------------------------------------------------


def test_v1_real_limit(tmp_path: pathlib.Path) -> None:
    root = v1(tmp_path, "/docker/abc", {
        "/": (str(2**63 - 4096), str(9 * GiB)),
        "/docker": (str(2**63 - 4096), str(2 * GiB)),
        "/docker/abc": (str(256 * MiB), str(MiB)),
    }, proc__meminfo=MEMINFO)
    assert read_limits(root) == MemoryLimits(
        256 * MiB, MiB, "cgroup v1 " + cgdir(root, "sys/fs/cgroup/memory/docker/abc"))
    assert available(root) == 255 * MiB


def test_v1_controller_sharing_a_line(tmp_path: pathlib.Path) -> None:
    root = v1(tmp_path, "/job", {"/job": (str(GiB), str(MiB))}, controllers="cpu,memory")
    assert read_limits(root).limit == GiB


@pytest.mark.parametrize("sentinel", [
    "9223372036854771712",                 # LONG_MAX rounded down to a 4 KiB page
    str((2**63 - 1) // 65536 * 65536),     # PAGE_COUNTER_MAX * page size, 64 KiB pages
    str(2**60),
    "-1",
])
def test_v1_huge_sentinel_is_unlimited(tmp_path: pathlib.Path, sentinel: str) -> None:
    root = v1(tmp_path, "/process_api/x", {
        "/": (sentinel, None),
        "/process_api": (sentinel, None),
        "/process_api/x": (sentinel, str(21 * MiB)),
    }, proc__meminfo=MEMINFO)
    found = read_limits(root)
    assert found == MemoryLimits(
        None, 21 * MiB, "cgroup v1 " + cgdir(root, "sys/fs/cgroup/memory/process_api/x"))
    assert available(root) is None


def test_v1_parent_limit_applies_unless_use_hierarchy_is_0(tmp_path: pathlib.Path) -> None:
    levels = {"/pod": (str(GiB), str(200 * MiB)), "/pod/ctr": (str(2**62), str(100 * MiB))}
    root = v1(tmp_path / "a", "/pod/ctr", levels)
    assert read_limits(root).limit == GiB
    root = v1(tmp_path / "b", "/pod/ctr", levels)
    tree(pathlib.Path(root), {"sys/fs/cgroup/memory/pod/memory.use_hierarchy": "0\n",
                              "sys/fs/cgroup/memory/pod/ctr/memory.use_hierarchy": "0\n"})
    assert read_limits(root) == MemoryLimits(
        None, 100 * MiB, "cgroup v1 " + cgdir(root, "sys/fs/cgroup/memory/pod/ctr"))


def test_v1_container_without_cgroup_namespace_through_mountinfo(tmp_path: pathlib.Path) -> None:
    # /proc/self/cgroup shows the host's path; the container's mount shows only its subtree
    mountinfo = (
        "601 600 0:52 / / rw,relatime master:1 - overlay overlay rw\n"
        "610 609 0:28 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n"
        "615 610 0:32 /docker/abc /sys/fs/cgroup/memory ro,nosuid master:15 - cgroup cgroup "
        "rw,memory\n"
        "616 610 0:33 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro - cgroup cgroup rw,cpu,cpuacct\n")
    root = tree(tmp_path, {
        "proc/self/cgroup": "9:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n",
        "proc/self/mountinfo": mountinfo,
        "proc/meminfo": MEMINFO,
        "sys/fs/cgroup/memory/memory.limit_in_bytes": f"{512 * MiB}\n",
        "sys/fs/cgroup/memory/memory.usage_in_bytes": f"{64 * MiB}\n",
    })
    assert read_limits(root) == MemoryLimits(
        512 * MiB, 64 * MiB, "cgroup v1 " + cgdir(root, "sys/fs/cgroup/memory"))


def test_hybrid_v2_without_memory_falls_to_v1(tmp_path: pathlib.Path) -> None:
    # this VM's layout: cgroup2 at /sys/fs/cgroup/unified without the memory controller
    mountinfo = ("31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
                 "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
                 "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n")
    root = tree(tmp_path, {
        "proc/self/cgroup": "4:memory:/process_api/x\n0::/\n",
        "proc/self/mountinfo": mountinfo,
        "sys/fs/cgroup/unified/cgroup.procs": "1\n",
        "sys/fs/cgroup/memory/process_api/x/memory.limit_in_bytes": f"{GiB}\n",
        "sys/fs/cgroup/memory/process_api/x/memory.usage_in_bytes": f"{MiB}\n",
    })
    assert read_limits(root).source.startswith("cgroup v1 ")
    assert available(root) == GiB - MiB


# -- /proc/meminfo and the end of the line --------------------------------------------------


def test_no_cgroup_files_meminfo(tmp_path: pathlib.Path) -> None:
    root = tree(tmp_path, {"proc/meminfo": MEMINFO})
    found = read_limits(root)
    assert found == MemoryLimits(MEMINFO_LIMIT, MEMINFO_CURRENT, cgdir(root, "proc/meminfo"))
    assert available(root) == 12288000 * 1024


def test_meminfo_without_memavailable(tmp_path: pathlib.Path) -> None:
    root = tree(tmp_path, {"proc/meminfo": "MemTotal: 1000 kB\nMemFree: 10 kB\n"})
    assert read_limits(root) == MemoryLimits(1024000, None, cgdir(root, "proc/meminfo"))


def test_nothing_readable_is_unknown(tmp_path: pathlib.Path) -> None:
    assert read_limits(str(tmp_path)) == MemoryLimits(None, None, "unknown")
    assert read_limits(str(tmp_path / "does-not-exist")) == MemoryLimits(None, None, "unknown")
    assert available(str(tmp_path)) is None


GARBAGE: list[str | bytes | None] = [
    "", "\n", "garbage\n", "12 kB\n", "-5\n", "0x100\n", "1e9\n", b"\xff\xfe\x00\x01",
    "max max\n", "::::\n", "0::\n", "0::/a/../../b\n",
    None,  # a directory where a file should be
]


@pytest.mark.parametrize("bad", GARBAGE, ids=[repr(g)[:20] for g in GARBAGE])
def test_garbage_falls_through_to_the_next_source(tmp_path: pathlib.Path,
                                                  bad: str | bytes | None) -> None:
    # v2 and v1 memory files all garbage (or directories): meminfo answers
    files: dict[str, str | bytes | None] = {
        "proc/self/cgroup": "4:memory:/a\n0::/a\n",
        "proc/meminfo": MEMINFO,
    }
    for name in ("sys/fs/cgroup/a/memory.max", "sys/fs/cgroup/a/memory.current",
                 "sys/fs/cgroup/memory/a/memory.limit_in_bytes",
                 "sys/fs/cgroup/memory/a/memory.usage_in_bytes"):
        files[name] = bad
    root = tree(tmp_path, files)
    assert read_limits(root) == MemoryLimits(MEMINFO_LIMIT, MEMINFO_CURRENT,
                                             cgdir(root, "proc/meminfo"))


@pytest.mark.parametrize("bad", GARBAGE, ids=[repr(g)[:20] for g in GARBAGE])
def test_garbage_everywhere_never_raises(tmp_path: pathlib.Path,
                                         bad: str | bytes | None) -> None:
    names = ["proc/self/cgroup", "proc/self/mountinfo", "proc/meminfo",
             "sys/fs/cgroup/memory.max", "sys/fs/cgroup/memory.current",
             "sys/fs/cgroup/memory/memory.limit_in_bytes"]
    root = tree(tmp_path, dict.fromkeys(names, bad))
    found = read_limits(root)
    assert found == MemoryLimits(None, None, "unknown")
    assert available(root) is None


@pytest.mark.parametrize("mountinfo", [
    "1 2 3:4 /\\089 /x\\0y rw - cgroup2 cgroup2 rw\n",    # bad escapes, a root not ours
    "1 2 3:4 /other /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",     # a subtree we are not in
])
def test_mountinfo_that_excludes_us_falls_through(tmp_path: pathlib.Path, mountinfo: str) -> None:
    # mountinfo is authoritative when it lists cgroup2 mounts: the usual place is not guessed
    root = v2(tmp_path, "/a", {"/a": (str(GiB), str(MiB))}, proc__meminfo=MEMINFO)
    tree(pathlib.Path(root), {"proc/self/mountinfo": mountinfo})
    assert read_limits(root).source == cgdir(root, "proc/meminfo")


@pytest.mark.parametrize("mountinfo", [
    "1 2 3:4 / /cg rw - cgroup2\n1 2 - 4 5 6\n- - - - - - - -\n",  # short, misplaced "-"
    "25 1 0:22 / / rw,relatime - ext4 /dev/sda1 rw\n",           # no cgroup2 mount listed
    None,                                                         # unreadable
])
def test_mountinfo_without_usable_lines_means_the_usual_place(tmp_path: pathlib.Path,
                                                              mountinfo: str | None) -> None:
    root = v2(tmp_path, "/a", {"/a": (str(GiB), str(MiB))}, proc__meminfo=MEMINFO)
    tree(pathlib.Path(root), {"proc/self/mountinfo": mountinfo})
    assert read_limits(root) == MemoryLimits(GiB, MiB, "cgroup v2 " + cgdir(root,
                                                                          "sys/fs/cgroup/a"))


def test_unreadable_files_fall_through(tmp_path: pathlib.Path) -> None:
    # (tests may run as root, where chmod 000 does not stop a read: use links that cannot be
    # followed instead)
    root = v2(tmp_path, "/a", {"/a": (None, None)}, proc__meminfo=MEMINFO)
    os.symlink("memory.max", os.path.join(root, "sys/fs/cgroup/a/memory.max"))  # a loop
    os.symlink("/nonexistent/x", os.path.join(root, "sys/fs/cgroup/a/memory.current"))
    assert read_limits(root).source == cgdir(root, "proc/meminfo")
    os.remove(os.path.join(root, "proc/meminfo"))
    os.symlink("meminfo", os.path.join(root, "proc/meminfo"))
    assert read_limits(root) == MemoryLimits(None, None, "unknown")


# -- the value type -------------------------------------------------------------------------


def test_memory_limits_value() -> None:
    limits = MemoryLimits(GiB, 2 * GiB, "x")
    assert limits.available == 0  # over the limit (v1 can overshoot briefly): never negative
    limit, current, source = limits
    assert (limit, current, source) == (GiB, 2 * GiB, "x")
    assert limits == MemoryLimits(GiB, 2 * GiB, "x") and limits != MemoryLimits(GiB, 0, "x")
    assert hash(limits) == hash(MemoryLimits(GiB, 2 * GiB, "x"))
    assert repr(limits) == f"MemoryLimits(limit={GiB}, current={2 * GiB}, source='x')"
    assert MemoryLimits(None, 5, "x").available is None
    assert not hasattr(limits, "__dict__")


# -- this machine ---------------------------------------------------------------------------


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc and /sys")
def test_this_machine() -> None:
    found = read_limits()
    for value in (found.limit, found.current):
        assert value is None or (type(value) is int and value > 0), found
    source = found.source
    for kind in ("cgroup v2 ", "cgroup v1 "):
        source = source.removeprefix(kind)
    assert os.path.exists(source), found
    assert found.source.startswith(("cgroup v2 /", "cgroup v1 /", "/proc/meminfo"))
    room = available()
    assert room is None or (type(room) is int and room >= 0)
    assert (room is None) == (found.limit is None or found.current is None)


def test_import_is_cheap(tmp_path: pathlib.Path) -> None:
    # The module file alone (the package __init__ files belong to others): nothing but os.
    import hotstart.pool.memory as module

    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('standalone_memory', {module.__file__!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "before = set(sys.modules)\n"
        "spec.loader.exec_module(module)\n"
        "print(sorted(set(sys.modules) - before))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# -- OOM kill counters ----------------------------------------------------------------------

def test_oom_kills_sums_v2_memory_events_up_the_tree(tmp_path: pathlib.Path) -> None:
    root = v2(tmp_path, "/pod/app", {"/pod/app": ("max", "10"), "/pod": ("1000", "10")})
    tree(tmp_path, {
        "sys/fs/cgroup/pod/app/memory.events": "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n",
        "sys/fs/cgroup/pod/memory.events": "oom 2\noom_kill 2\noom_group_kill 0\n"})
    from hotstart.pool.memory import oom_kills

    assert oom_kills(root) == 3


def test_oom_kills_reads_v1_oom_control(tmp_path: pathlib.Path) -> None:
    root = v1(tmp_path, "/job", {"/job": ("1000", "10")})
    tree(tmp_path, {"sys/fs/cgroup/memory/job/memory.oom_control":
                    "oom_kill_disable 0\nunder_oom 0\noom_kill 4\n"})
    from hotstart.pool.memory import oom_kills

    assert oom_kills(root) == 4


def test_oom_kills_is_none_without_counters(tmp_path: pathlib.Path) -> None:
    from hotstart.pool.memory import oom_kills

    assert oom_kills(v2(tmp_path, "/x", {"/x": ("max", "1")})) is None
