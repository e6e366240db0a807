"""examples/k8s: the manifest the master renders carries the preload list `hotstart preload`
computes for the job spec, quoted safely; the image runs `hotstart worker --` with it.

No cluster: the rendered manifest is parsed with PyYAML, and its container (entrypoint, args,
environment) is run here as the pod would run it, on the example's own job.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

yaml = pytest.importorskip("yaml")

ROOT = pathlib.Path(__file__).resolve().parent.parent
K8S = ROOT / "examples" / "k8s"
JOBS = ROOT / "examples" / "jobrunner" / "jobs"
HOTSTART = str(pathlib.Path(sys.executable).with_name("hotstart"))
TIMEOUT = 120


def render(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(K8S / "render.py"), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=TIMEOUT)


def container(manifest: dict) -> dict:
    (only,) = manifest["spec"]["template"]["spec"]["containers"]
    return only


def test_the_manifest_carries_what_hotstart_preload_computes(tmp_path):
    spec = "examples/jobrunner/jobs/clean.json"
    out = tmp_path / "k8s" / "clean.yaml"
    result = render(spec, "--package", "jobrunner", "--image", "registry.example/w:1",
                    "-o", str(out))
    assert result.returncode == 0, result.stderr
    manifest = yaml.safe_load(out.read_text())
    assert manifest["kind"] == "Job" and manifest["metadata"]["name"] == "jobrunner-clean"
    worker = container(manifest)
    env = {item["name"]: item["value"] for item in worker["env"]}
    computed = subprocess.run([HOTSTART, "preload", spec, "--package", "jobrunner", "--json"],
                              cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT)
    assert computed.returncode == 0, computed.stderr
    expected = json.loads(computed.stdout)
    assert env["HOTSTART_PRELOAD"] == expected["HOTSTART_PRELOAD"]
    assert env["HOTSTART_PRELOAD"].split(",") == expected["modules"]
    assert "jobrunner.plugins.stats" in expected["modules"]  # the spec's zscore step
    assert worker["image"] == "registry.example/w:1"
    assert worker["args"] == ["-m", "jobrunner", "compute", "/jobs/clean.json"]
    assert "${" not in out.read_text()
    assert os.listdir(out.parent) == ["clean.yaml"]  # written by rename: no leftovers


def test_an_unknown_type_writes_no_manifest(tmp_path):
    out = tmp_path / "typo.yaml"
    result = render("examples/jobrunner/jobs/typo.json", "--package", "jobrunner",
                    "-o", str(out))
    assert result.returncode == 1
    assert result.stderr == ("hotstart: error: unknown type 'zscroe' at $.steps[5] in "
                             "examples/jobrunner/jobs/typo.json (did you mean 'zscore'?)\n")
    assert not out.exists()


def test_values_are_quoted_so_they_cannot_change_the_manifest():
    path = K8S / "render.py"
    spec = importlib.util.spec_from_file_location("k8s_render", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    template = (K8S / "job.template.yaml").read_text()
    hostile = 'a,b\n  evil: true # "quoted" \\ \'single\' ${X} {x: [1]} - item: ü\u2028'
    values = {"HOTSTART_PRELOAD": hostile, "IMAGE": "img: 1", "SPEC": "/jobs/x y.json",
              "JOB_NAME": "n"}
    manifest = yaml.safe_load(module.fill(template, values))
    worker = container(manifest)
    assert worker["env"] == [{"name": "HOTSTART_PRELOAD", "value": hostile}]
    assert worker["image"] == "img: 1"
    assert worker["args"][-1] == "/jobs/x y.json"
    with pytest.raises(KeyError):
        module.fill("value: ${MISSING}\n", values)


def test_the_pod_runs_its_job_with_the_list_preloaded(tmp_path):
    """The container as the pod starts it: the image's ENTRYPOINT, the manifest's args and
    environment (the spec's directory rendered as this checkout's jobs/ instead of /jobs)."""
    out = tmp_path / "clean.yaml"
    result = render("examples/jobrunner/jobs/clean.json", "--package", "jobrunner",
                    "--jobs-dir", str(JOBS), "-o", str(out))
    assert result.returncode == 0, result.stderr
    worker = container(yaml.safe_load(out.read_text()))
    entrypoint = _entrypoint()
    assert entrypoint == ["hotstart", "worker", "--"]
    env = {k: v for k, v in os.environ.items() if k != "HOTSTART_PRELOAD"}
    env.update({item["name"]: item["value"] for item in worker["env"]})
    pod = subprocess.run([HOTSTART, *entrypoint[1:], *worker["args"]], cwd=JOBS, env=env,
                         capture_output=True, text=True, timeout=TIMEOUT)
    assert pod.returncode == 0, pod.stderr
    assert "job: clean-sales" in pod.stdout
    preloaded = [line.split()[3] for line in pod.stderr.splitlines()
                 if line.startswith("hotstart worker: ok ")]
    assert preloaded == env["HOTSTART_PRELOAD"].split(",")


def _entrypoint() -> list[str]:
    text = (K8S / "Dockerfile").read_text()
    (line,) = [line for line in text.splitlines() if line.startswith("ENTRYPOINT ")]
    return json.loads(line.removeprefix("ENTRYPOINT "))


def test_the_image_installs_hotstart_without_its_tooling():
    text = (K8S / "Dockerfile").read_text()
    installs = [line for line in text.splitlines() if re.match(r"RUN pip (install|wheel)", line)]
    assert installs, text
    assert not any("[" in line for line in installs), installs  # no extras: no rich, no libcst
    assert "hotstart" in " ".join(installs)
