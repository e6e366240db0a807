"""Small helpers for the audit tests: write a tree, audit it statically, pick sites."""

from __future__ import annotations

import pathlib

from conftest import write_tree

from hotstart.audit import audit
from hotstart.audit.model import AuditReport, ImportSite


def audit_tree(base: pathlib.Path, files: dict[str, str], target: str | None = None,
               **options) -> AuditReport:
    """Write `files` under `base` and audit `base / target` (or `base`), statically unless
    `run` is given."""
    write_tree(base, files)
    options.setdefault("run", False)
    return audit(str(base / target) if target else str(base), **options)


def sites_in(report: AuditReport, module: str) -> list[ImportSite]:
    return [s for s in report.sites if s.module == module]


def site(report: AuditReport, module: str, name: str) -> ImportSite:
    """The one site of `module` that binds `name`."""
    found = [s for s in sites_in(report, module) if name in [b.name for b in s.names]]
    assert len(found) == 1, (module, name, [(s.line, s.klass, [b.name for b in s.names])
                                            for s in sites_in(report, module)])
    return found[0]


def names(s: ImportSite) -> list[str]:
    return [b.name for b in s.names]
