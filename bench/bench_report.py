"""`hotstart report`: how fast each output is written, how big it is, and how fast the HTML
report opens in a browser, beside tuna (the icicle chart of `-X importtime` people use today).

Profiles:
- ``example``: the example worker's ``interface`` request, profiled for real (about 430
  modules); tuna reads ``python -X importtime`` of the same request;
- ``12k``: a synthetic import tree of 12,000 modules in one process (packages of
  packages, 9 levels, times and memory from a fixed seed); tuna reads the same tree written
  as an ``-X importtime`` log;
- ``3x12k``: the same tree in three processes (hotstart only: tuna draws one process).

Write: ``hotstart report PROFILE --format F -o OUT`` and ``tuna LOG -o DIR --no-browser`` as
commands, timed from spawn to a blocking ``wait4`` (interpreter start-up included; .pyc
compiled first), in rounds that rotate the order. Open: each HTML page loaded from a file://
URL in a fresh page of one headless Chromium (Debian's; one page alive at a time), the time
taken from the page's own clock (``performance.now()``, from navigation start) when a
MutationObserver sees the chart's first element in the DOM, and after the next two animation
frames (the chart painted). No polling anywhere. Reproduce:

    .venv/bin/pip install -e '.[dev,bench]'      # tuna is in the bench extra
    .venv/bin/python bench/bench_report.py [--rounds 11] [--markdown /tmp/report-results.md]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import random
import shutil
import subprocess
import sys
import tempfile

from _timing import median_of, python_info, run_once

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

from conftest import CHROMIUM_ARGS  # noqa: E402  (the tests' browser flags)
from helpers import make_process, make_profile, module  # noqa: E402  (test builders)

HOTSTART = [sys.executable, "-m", "hotstart"]
#: What counts as "the chart is in the DOM" in each page.
CHART = {"hotstart": "#chart [data-module]", "tuna": "svg g rect"}
OBSERVE = """
(selector) => {
  window.__chart = null; window.__painted = null;
  const seen = () => {
    if (window.__chart === null && document.querySelector(selector)) {
      window.__chart = performance.now();
      requestAnimationFrame(() => requestAnimationFrame(() => {
        window.__painted = performance.now(); }));
      return true;
    }
    return false;
  };
  new MutationObserver((records, observer) => { if (seen()) observer.disconnect(); })
    .observe(document, {childList: true, subtree: true});
}
"""


def synthetic_tree(count: int, seed: int = 16) -> list:
    """`count` modules: packages of packages up to nine levels deep, from a fixed seed;
    cumulative figures are self + children, as in a measured tree."""
    rng = random.Random(seed)
    modules, depth = [], {}
    for index in range(count):
        recent = [m.name for m in modules[-300:] if depth[m.name] < 8]
        parent = rng.choice(recent) if recent and rng.random() > 0.02 else None
        name = f"{parent}.m{index}" if parent else f"pkg{index}"
        depth[name] = 0 if parent is None else depth[parent] + 1
        self_ms = rng.lognormvariate(-2.5, 1.2)
        modules.append(module(name, parent, index, self_ms=self_ms, cum_ms=self_ms,
                              rss=rng.randint(0, 400_000), depth=depth[name],
                              kind=rng.choice(("stdlib", "third-party", "first-party"))))
    by_name = {m.name: m for m in modules}
    for record in reversed(modules):  # children come after their parent
        if record.importer:
            parent = by_name[record.importer]
            total = parent.cumulative_us.median + record.cumulative_us.median
            parent.cumulative_us = type(parent.cumulative_us)(total, total, total)
    return modules


def importtime_log(modules: list) -> str:
    """The same tree as `python -X importtime` prints it (children before their parent)."""
    children: dict[str | None, list] = {}
    for record in modules:
        children.setdefault(record.importer, []).append(record)
    lines = ["import time: self [us] | cumulative | imported package"]
    stack = [(record, False) for record in reversed(children.get(None, []))]
    while stack:
        record, done = stack.pop()
        if done:
            indent = "  " * record.depth
            lines.append(f"import time: {int(record.self_us.median):>9} | "
                         f"{int(record.cumulative_us.median):>10} | {indent}{record.name}")
            continue
        stack.append((record, True))
        stack.extend((child, False) for child in reversed(children.get(record.name, [])))
    return "\n".join(lines) + "\n"


def build(work: pathlib.Path) -> dict[str, dict[str, pathlib.Path]]:
    example = work / "example.json"
    subprocess.run([*HOTSTART, "profile", "-q", "-n", "3", "-o", str(example), "-m",
                    "jobrunner", "interface"], check=True, stdout=subprocess.DEVNULL,
                   cwd=ROOT / "examples" / "jobrunner")
    log = work / "example.importtime"
    with open(log, "w") as handle:
        subprocess.run([sys.executable, "-X", "importtime", "-m", "jobrunner", "interface"],
                       check=True, stdout=subprocess.DEVNULL, stderr=handle,
                       cwd=ROOT / "examples" / "jobrunner")
    tree = synthetic_tree(12_000)
    big, big3 = work / "12k.json", work / "3x12k.json"
    big.write_text(json.dumps(make_profile([make_process(tree, module_count=len(tree))])
                              .to_dict()))
    processes = [make_process(synthetic_tree(12_000, seed=16 + i), pid=4242 + i,
                              module_count=12_000) for i in range(3)]
    big3.write_text(json.dumps(make_profile(processes).to_dict()))
    big_log = work / "12k.importtime"
    big_log.write_text(importtime_log(tree))
    return {"example": {"profile": example, "log": log}, "12k": {"profile": big, "log": big_log},
            "3x12k": {"profile": big3}}


def size_of(path: pathlib.Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def writers(inputs: dict[str, pathlib.Path], out: pathlib.Path) -> dict[str, tuple[list, pathlib.Path]]:
    """label -> (argv, what it writes)."""
    jobs = {}
    for fmt, suffix in (("html", ".html"), ("speedscope", ".speedscope.json"),
                        ("trace", ".trace.json"), ("folded", ".folded")):
        target = out / f"hotstart{suffix}"
        jobs[f"hotstart {fmt}"] = ([*HOTSTART, "report", str(inputs["profile"]), "--format",
                                    fmt, "-o", str(target)], target)
    if "log" in inputs:
        jobs["tuna"] = ([sys.executable, "-m", "tuna", str(inputs["log"]), "-o",
                         str(out / "tuna"), "--no-browser"], out / "tuna")
    return jobs


def time_writes(inputs, out: pathlib.Path, rounds: int) -> dict[str, tuple[list[float], int]]:
    jobs = writers(inputs, out)
    samples: dict[str, list[float]] = {label: [] for label in jobs}
    labels = list(jobs)
    for label in labels:  # warm-up, and the outputs for the open test
        run_once(jobs[label][0])
    for index in range(rounds):
        for label in labels[index % len(labels):] + labels[:index % len(labels)]:
            samples[label].append(run_once(jobs[label][0]))
    return {label: (samples[label], size_of(jobs[label][1])) for label in labels}


def time_opens(browser, pages: dict[str, tuple[pathlib.Path, str]], rounds: int):
    """label -> ([chart in DOM ms], [painted ms]) for each (page, kind)."""
    results = {label: ([], []) for label in pages}
    labels = list(pages)
    for index in range(rounds + 1):
        for label in labels[index % len(labels):] + labels[:index % len(labels)]:
            path, kind = pages[label]
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.add_init_script(f"({OBSERVE})({json.dumps(CHART[kind])})")
            page.goto(path.as_uri(), wait_until="load")
            page.wait_for_function("window.__painted !== null", timeout=120_000)
            chart, painted = page.evaluate("[window.__chart, window.__painted]")
            page.close()
            if index:  # the first round warms the browser's caches
                results[label][0].append(chart)
                results[label][1].append(painted)
    return results


def row(label: str, values: list[float], base: float | None, extra: str = "") -> str:
    med = median_of(values)
    ratio = f"{med / base:.2f}" if base else "1.00"
    return (f"| {label} | {med:.1f} | {min(values):.1f} | {max(values):.1f} | {ratio} |"
            f"{extra}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--markdown", metavar="FILE")
    options = parser.parse_args()
    chromium = shutil.which("chromium")
    from playwright.sync_api import sync_playwright

    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True)
    lines = [f"{python_info()}", ""]
    with tempfile.TemporaryDirectory(prefix="hotstart-bench-report-") as tmp:
        work = pathlib.Path(tmp)
        built = build(work)
        opened = {}
        for name, inputs in built.items():
            out = work / f"out-{name}"
            out.mkdir()
            writes = time_writes(inputs, out, options.rounds)
            base = median_of(writes["hotstart html"][0])
            lines += [f"#### Write: {name} ({options.rounds} rounds, order rotated)", "",
                      "| command | median ms | min ms | max ms | ratio to hotstart html | "
                      "output |", "|---|---:|---:|---:|---:|---:|"]
            lines += [row(label, samples, base, f" {size / 1e3:,.0f} kB |")
                      for label, (samples, size) in writes.items()]
            lines.append("")
            opened[f"hotstart: {name}"] = (out / "hotstart.html", "hotstart")
            if (out / "tuna").exists():
                opened[f"tuna: {name}"] = (out / "tuna" / "index.html", "tuna")
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            try:
                opens = time_opens(browser, opened, options.rounds)
            finally:
                browser.close()
        lines += [f"#### Open in headless Chromium ({options.rounds} rounds after one warm-up, "
                  f"order rotated; ms from navigation start)", "",
                  "| page | chart in DOM: median ms | min | max | ratio | painted: median ms "
                  "| min | max |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for label, (chart, painted) in opens.items():
            name = label.split(": ")[1]
            base = median_of(opens[f"hotstart: {name}"][0])
            lines.append(row(label, chart, base,
                             f" {median_of(painted):.1f} | {min(painted):.1f} | "
                             f"{max(painted):.1f} |"))
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if options.markdown:
        pathlib.Path(options.markdown).write_text(text)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    sys.exit(main())
