"""`AuditReport` round-trips through JSON (`to_dict` -> json -> `from_dict`)."""

from __future__ import annotations

import json

import pytest

from conftest import EXAMPLE

from hotstart.audit import audit
from hotstart.audit.model import (SCHEMA, AuditReport, BoundName, Entry, HotSpot, ImportSite,
                                  Link, Reach, Saving, Use)


@pytest.fixture(scope="module")
def jobrunner_report():
    return audit(str(EXAMPLE), entries=["-m jobrunner interface"], run=False)


def round_trip(report: AuditReport) -> AuditReport:
    return AuditReport.from_dict(json.loads(json.dumps(report.to_dict())))


def test_jobrunner_report_round_trips(jobrunner_report):
    report = jobrunner_report
    # the example exercises most of the model: every static class, hot spots, reach chains
    assert {s.klass for s in report.sites} >= {"deferrable", "typing-only", "needed"}
    assert report.hotspots and report.entries and report.entries[0].reach
    back = round_trip(report)
    assert back == report
    assert back.to_dict() == report.to_dict()
    assert isinstance(back.sites[0], ImportSite)
    assert isinstance(back.sites[0].names[0], BoundName)
    assert all(isinstance(u, Use) for s in back.sites for b in s.names for u in b.uses)
    assert isinstance(back.hotspots[0], HotSpot)
    assert isinstance(back.entries[0], Entry)
    assert isinstance(back.entries[0].reach[0], Reach)
    assert isinstance(back.entries[0].reach[0].chain[0], Link)


def test_to_dict_starts_with_the_schema(jobrunner_report):
    data = jobrunner_report.to_dict()
    assert next(iter(data)) == "schema"
    assert data["schema"] == SCHEMA == "hotstart.audit/1"
    json.dumps(data)  # only JSON types


def test_measured_fields_round_trip():
    use = Use("function", 7, scope="f", scope_line=5)
    other = Use("reexport", 1, scope="pkg.b", file="pkg/b.py")
    site = ImportSite(file="pkg/a.py", module="pkg.a", line=1, end_line=2,
                      statement="from os import (path, sep)", imported="os",
                      names=[BoundName("path", "os.path", [use, other], False),
                             BoundName("sep", "os.sep", [], True)],
                      kind="from", klass="side-effect", reason="r", pins=["p"], fix="f",
                      effects=["os: e"], external=True, stdlib=True, package_init=True,
                      guard="try",
                      savings=[Saving("-m pkg", 12.5, 4096, 3, ["a", "b"], ["pkg.c"])])
    entry = Entry("-m pkg", ["pkg"], [Reach("numpy", [Link("pkg", "pkg/__init__.py", 1,
                                                           "package __init__"),
                                                      Link("numpy")], 10.0, 20)],
                  first_party=3, measured=True, import_us=1.5, peak_rss=100, fix_us=2.0,
                  fix_rss=30, fix_sites=2, profile="p.json", bytecode="from .pyc")
    spot = HotSpot("pkg/a.py", "pkg.a", 3, "inspect.stack", "frames", "why", "advice",
                   via=["pkg.log.get_logger"], measured_us=5.0, measured_calls=2,
                   measured_entry="-m pkg")
    report = AuditReport(root="pkg", package="pkg", files=2, sites=[site], hotspots=[spot],
                         entries=[entry], effects={"os": ["e"]}, target_version="3.11..3.15",
                         errors=["x"], notes=["n"], seconds=0.25)
    back = round_trip(report)
    assert back == report
    assert back.sites[0].best_saving == Saving("-m pkg", 12.5, 4096, 3, ["a", "b"], ["pkg.c"])
    assert back.sites[0].id == "pkg/a.py:1:path/sep"


def test_unknown_keys_are_ignored(jobrunner_report):
    data = json.loads(json.dumps(jobrunner_report.to_dict()))
    data["from_the_future"] = 1
    data["sites"][0]["from_the_future"] = 1
    data["sites"][0]["names"][0]["from_the_future"] = 1
    data["entries"][0]["reach"][0]["chain"][0]["from_the_future"] = 1
    assert AuditReport.from_dict(data) == jobrunner_report


@pytest.mark.parametrize("data", [{"schema": "hotstart.profile/1"}, {}, [], "x", None])
def test_from_dict_rejects_other_documents(data):
    with pytest.raises(ValueError, match="hotstart.audit/1"):
        AuditReport.from_dict(data)
