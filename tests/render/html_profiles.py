"""Profiles made by hand for the HTML report's tests: a hostile one (every string is HTML,
script or an odd character), a large one, a very deep one."""

from __future__ import annotations

import random
from typing import Any

from helpers import stat

from hotstart.audit.model import AuditReport, BoundName, ImportSite, Saving
from hotstart.measure.model import (
    CallLink,
    HotCall,
    ImportEdge,
    ModuleRecord,
    ProcessProfile,
    Profile,
    Stat,
)

HOSTILE = ['</script><img src=x onerror=alert(1)>', "a\"b'c`d", "new\nline\u2028sep", "<!--",
           "]]>&amp;", "ünïcødé.模块", "\u202eevil", "x</style><script>alert(2)</script>"]


def record(name: str, importer: str | None, order: int, ms: float, **fields: Any) -> ModuleRecord:
    values: dict[str, Any] = {
        "name": name, "importer": importer, "depth": 0, "order": order, "start_us": order * 10.0,
        "thread": "main", "self_us": stat(ms * 1e3), "cumulative_us": stat(ms * 1e3), **fields}
    return ModuleRecord(**values)


def hostile_profile() -> tuple[Profile, AuditReport]:
    modules = [record("pkg", None, 0, 5.0, site="<script>:1")]
    for index, name in enumerate(HOSTILE, 1):
        modules.append(record(name, "pkg", index, 1.0, kind="<b>kind</b>", site=f"{name}:{index}",
                              file=name, distribution=name, status=f"error:{name}"))
    modules[0].cumulative_us = stat(sum(m.self_us.median for m in modules) / 1e3)
    call = HotCall(function=HOSTILE[0], file=HOSTILE[1], line=1, calls=2, self_us=10.0,
                   cumulative_us=500.0, callers=[CallLink(HOSTILE[2], None, None, 1, 5.0)],
                   chain=[CallLink(HOSTILE[7], HOSTILE[3], 3, 1, 400.0)])
    process = ProcessProfile(argv=["python", HOSTILE[0]], python="3.11", executable=HOSTILE[1],
                             wall_us=stat(9e3), modules=modules, hot_calls=[call],
                             profiling_import_us=9e3,
                             edges=[ImportEdge("__main__", "pkg", HOSTILE[0] + ":1")]
                             + [ImportEdge("pkg", n, f"{n}:2") for n in HOSTILE])
    profile = Profile(target=["python", *HOSTILE], python="3.11", engine="tracer", runs=1,
                      warmup=0, wall_us=stat(9e3), floor_us=None, processes=[process],
                      notes=HOSTILE, stderr_tail=HOSTILE, exit_code=1)
    site = ImportSite(file=HOSTILE[0], module="pkg", line=1, end_line=1, statement=HOSTILE[7],
                      imported=HOSTILE[0], names=[BoundName(HOSTILE[2], HOSTILE[0])],
                      klass="deferrable", reason=HOSTILE[3], fix=HOSTILE[5],
                      savings=[Saving(HOSTILE[1], 1000.0, 4096, 1, [HOSTILE[0]])])
    audit = AuditReport(root=HOSTILE[0], package=None, files=1, sites=[site], notes=HOSTILE)
    return profile, audit


def large_profile(modules: int = 12_000, processes: int = 3) -> Profile:
    """`processes` processes of `modules` modules each: a bushy tree, up to ~25 deep, with
    two recorded imports per module."""
    chance = random.Random(16)
    made = []
    for index in range(processes):
        records: list[ModuleRecord] = []
        parents: list[int] = []
        depth: list[int] = []
        for order in range(modules):
            parent = -1 if order < 20 else chance.randrange(max(0, order - 400), order)
            if parent >= 0 and depth[parent] >= 24:
                parent = -1
            parents.append(parent)
            depth.append(0 if parent < 0 else depth[parent] + 1)
            name = f"p{index}.top{order}" if parent < 0 else f"{records[parent].name}.m{order}"
            if len(name) > 60:
                name = f"p{index}.deep{order}"
            own = chance.uniform(5, 400)
            records.append(ModuleRecord(
                name=name, importer=None if parent < 0 else records[parent].name,
                depth=depth[-1], order=order, start_us=order * 50.0,
                thread="main" if order % 7 else "worker", self_us=Stat.exact(own),
                cumulative_us=Stat.exact(own),
                self_rss=Stat.exact(chance.randrange(-4096, 1 << 20)), cumulative_rss=Stat.exact(0),
                kind=("stdlib", "third-party", "first-party")[order % 3],
                site=f"/srv/p{index}/{parent}.py:{order % 90 + 1}"))
        for order in range(modules - 1, -1, -1):  # cumulative: own time plus the children's
            if parents[order] >= 0:
                parent = records[parents[order]]
                parent.cumulative_us = Stat.exact(parent.cumulative_us.median
                                                  + records[order].cumulative_us.median)
        edges = [ImportEdge(r.importer or "__main__", r.name, r.site) for r in records]
        edges += [ImportEdge(records[chance.randrange(order)].name, records[order].name,
                             f"/srv/other.py:{order}") for order in range(1, modules, 2)]
        made.append(ProcessProfile(argv=["python", f"worker{index}.py"], python="3.12",
                                   executable="python", wall_us=Stat.exact(5e6),
                                   modules=records, edges=edges, pid=1000 + index,
                                   module_count=modules))
    return Profile(target=["python", "fleet.py"], python="3.12", engine="tracer", runs=1,
                   warmup=0, wall_us=Stat.exact(6e6), floor_us=Stat.exact(2e4), processes=made)




def deep_profile(depth: int) -> Profile:
    """One process whose modules form a single chain `depth` long."""
    modules = [ModuleRecord(name=f"level{index}", importer=f"level{index - 1}" if index else None,
                            depth=index, order=index, start_us=float(index), thread="main",
                            self_us=Stat.exact(10.0),
                            cumulative_us=Stat.exact(10.0 * (depth - index)),
                            site=f"/srv/level{index - 1}.py:1" if index else "<string>:1")
               for index in range(depth)]
    edges = [ImportEdge(m.importer or "__main__", m.name, m.site) for m in modules]
    process = ProcessProfile(argv=["python", "deep.py"], python="3.12", executable="python",
                             wall_us=Stat.exact(1e5), modules=modules, edges=edges)
    return Profile(target=["python", "deep.py"], python="3.12", engine="tracer", runs=1,
                   warmup=0, wall_us=Stat.exact(1e5), floor_us=None, processes=[process])
