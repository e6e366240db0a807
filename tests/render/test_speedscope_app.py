"""The speedscope, trace and folded outputs open in speedscope's own app, unchanged.

speedscope reads its own format, Chrome trace events and folded stacks; a file it cannot
read makes it alert "Unrecognized format!". Its release (npm package speedscope, pinned in
the Makefile, fetched into the virtual environment by `make test`) is served on localhost and
opened in headless Chromium with `#profileURL=`: the test asserts speedscope took the file
(its title names the profile, its profile switcher counts our profiles) and raised nothing.
Perfetto's own viewer cannot run here (it downloads its trace processor); the trace output
is checked against the Trace Event Format in test_formats.py and read here by speedscope's
Chrome importer.
"""

from __future__ import annotations

import functools
import http.server
import json
import pathlib
import sys
import threading

import pytest

from conftest import run_hotstart

SPEEDSCOPE = pathlib.Path(sys.prefix) / "speedscope"
if not (SPEEDSCOPE / "index.html").is_file():
    pytest.skip(f"speedscope's app is not in {SPEEDSCOPE}: 'make test' fetches it with npm "
                f"(npm pack speedscope); without npm these tests cannot run",
                allow_module_level=True)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    """A localhost server for speedscope's release and the files under test: (dir, url)."""
    root = tmp_path_factory.mktemp("speedscope-site")
    for item in SPEEDSCOPE.iterdir():
        (root / item.name).symlink_to(item)
    handler = functools.partial(_Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _open_in_speedscope(browser, served, name: str) -> tuple[str, str, list[str]]:
    """Open `name` (a file in the served directory) in speedscope: (title, the profile
    switcher's label, problems: dialogs, page errors, console errors)."""
    _root, url = served
    page = browser.new_page(viewport={"width": 1200, "height": 700})
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    # Errors, and the warnings speedscope's importers print for what they could not nest
    # ("Tried to end ..."); not WebGL's notes on the software renderer's speed.
    page.on("console", lambda message: problems.append(f"console: {message.text}")
            if message.type == "error" or (message.type == "warning"
                                           and "GL Driver Message" not in message.text)
            else None)

    def dialog(box) -> None:
        problems.append(f"dialog: {box.message}")
        box.dismiss()
    page.on("dialog", dialog)
    try:
        page.goto(f"{url}/index.html#profileURL=/{name}")
        try:
            page.wait_for_function("document.title.endsWith(' - speedscope')",
                                   timeout=60_000)
        except Exception as exc:  # playwright's TimeoutError: say what speedscope said
            raise AssertionError(f"speedscope did not open {name}: {problems}") from exc
        label = page.locator("text=/\\(1\\/\\d+\\)/").first
        switcher = label.inner_text() if label.count() else ""
        return page.title(), switcher, problems
    finally:
        page.close()


def _write(served, name: str, *args: str, profile: pathlib.Path) -> pathlib.Path:
    root, _url = served
    out = root / name
    result = run_hotstart("report", str(profile), *args, "-o", str(out))
    assert result.returncode == 0, result.stderr
    return out


def test_a_multi_process_profile_opens_in_speedscope_with_a_profile_per_track(
        browser, served, multi_process_profile):
    out = _write(served, "multi.speedscope.json", "--format", "speedscope",
                 profile=multi_process_profile)
    document = json.loads(out.read_text())
    title, switcher, problems = _open_in_speedscope(browser, served, out.name)
    assert problems == []
    assert title == f"{document['name']} - speedscope"
    # speedscope lists every profile in the file: one per process and thread, and memory.
    assert switcher.endswith(f"(1/{len(document['profiles'])})"), switcher
    assert len(document["profiles"]) >= 3


def test_the_example_opens_in_speedscope(browser, served, jobrunner_profile):
    out = _write(served, "interface.speedscope.json", "--format", "speedscope",
                 profile=jobrunner_profile)
    title, _switcher, problems = _open_in_speedscope(browser, served, out.name)
    assert problems == []
    assert title == f"{json.loads(out.read_text())['name']} - speedscope"


@pytest.mark.parametrize("fmt, suffix", [("trace", ".trace.json"), ("folded", ".folded.txt")])
def test_trace_and_folded_outputs_open_in_speedscope(browser, served, multi_process_profile,
                                                     fmt, suffix):
    out = _write(served, f"multi{suffix}", "--format", fmt, profile=multi_process_profile)
    title, _switcher, problems = _open_in_speedscope(browser, served, out.name)
    assert problems == []
    assert title == f"{out.name} - speedscope"


def test_a_file_speedscope_cannot_read_is_caught(browser, served):
    """The check above can fail: a file that is not a profile alerts and keeps the title."""
    root, _url = served
    (root / "not-a-profile.json").write_text('{"modules": []}')
    with pytest.raises(AssertionError, match="Unrecognized format"):
        _open_in_speedscope(browser, served, "not-a-profile.json")
