"""`hotstart audit`: classify every import site of a project, find import-time hot spots,
and measure what each fix would save.

    from hotstart.audit import audit
    report = audit("src/mypkg", entries=["-m mypkg interface"])

Static analysis reads source with `ast` and imports nothing; an entry (or a saved profile)
adds measured savings. The result is an `AuditReport` (`hotstart.audit.model`), rendered by
`hotstart.render.audit` and applied by `hotstart.fix`.
"""

from __future__ import annotations

from ._audit import audit, parse_version
from .model import CLASSES, AuditReport, ImportSite

__all__ = ["audit", "parse_version", "AuditReport", "ImportSite", "CLASSES"]
