"""hotstart.pool.env: secrets never reach a worker, checked down to the C-level environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from hotstart.pool.env import DEFAULT_ALLOW, DEFAULT_PREFIXES, scrubbed

# Well-known secret variables: cloud keys, API tokens, database and cache URLs, registries.
SECRETS = {
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AWS_SESSION_TOKEN": "FwoGZXIvYXdzEXAMPLE",
    "GOOGLE_APPLICATION_CREDENTIALS": "/secrets/gcp-service-account.json",
    "AZURE_CLIENT_SECRET": "azure-client-secret-value",
    "GITHUB_TOKEN": "ghp_exampleexampleexampleexample0000",
    "GH_TOKEN": "gho_exampleexampleexampleexample0000",
    "OPENAI_API_KEY": "sk-openai-example",
    "ANTHROPIC_API_KEY": "sk-ant-example",
    "HF_TOKEN": "hf_example",
    "DATABASE_URL": "postgres://app:hunter2@db.internal:5432/app",
    "PGPASSWORD": "hunter2",
    "REDIS_URL": "redis://:hunter2@cache.internal:6379/0",
    "SLACK_TOKEN": "xoxb-example",
    "NPM_TOKEN": "npm_example",
    "DOCKER_AUTH_CONFIG": '{"auths": {"registry.example": {"auth": "dXNlcjpwYXNz"}}}',
    "SSH_AUTH_SOCK": "/tmp/ssh-agent.sock",
    "HTTPS_PROXY": "http://user:hunter2@proxy.internal:3128",
    "KUBECONFIG": "/secrets/kubeconfig",
}

# Secrets dressed with an allowed prefix: the secret-name check must stop them.
PREFIXED_SECRETS = {
    "HOTSTART_API_TOKEN": "hs-token",
    "HOTSTART_DB_URL": "postgres://u:hunter2@db/x",
    "HOTSTART_SIGNING_KEY": "signing-key-value",
    "LC_SECRET": "lc-secret-value",
    "LC_PASSWORD": "lc-password-value",
}

NORMAL = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/home/worker",
    "USER": "worker",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "LC_NUMERIC": "C",  # only through the LC_ prefix
    "TZ": "UTC",
    "TMPDIR": "/tmp",
    "PYTHONPATH": "/srv/app/src",
    "PYTHONHASHSEED": "0",
    "VIRTUAL_ENV": "/srv/app/.venv",
    "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "HOTSTART_PRELOAD": "pandas,numpy",
    "HOTSTART_EAGER": "0",
}

# Not secrets, but not for workers either (see the module docstring).
UNWANTED = {
    "PYTHONINSPECT": "1",
    "PYTHONSTARTUP": "/home/someone/.pythonrc",
    "PYTHONBREAKPOINT": "remote_pdb.set_trace",
    "LD_PRELOAD": "/tmp/evil.so",
    "PWD": "/home/someone",
    "EDITOR": "vim",
}

ENVIRON = {**SECRETS, **PREFIXED_SECRETS, **NORMAL, **UNWANTED}


def test_at_least_thirteen_well_known_secrets_are_tested() -> None:
    assert len(SECRETS) >= 13


def test_no_secret_survives_and_the_allowed_ones_do() -> None:
    env = scrubbed(ENVIRON)
    assert not set(env) & set(SECRETS), "secrets leaked"
    assert not set(env) & set(PREFIXED_SECRETS), "prefixed secrets leaked"
    assert not set(env) & set(UNWANTED)
    assert env == NORMAL  # every normal variable, with its value, and nothing else
    secret_values = set(SECRETS.values()) | set(PREFIXED_SECRETS.values())
    assert not secret_values & set(env.values())


def test_input_is_not_modified_and_order_is_kept() -> None:
    before = dict(ENVIRON)
    env = scrubbed(ENVIRON)
    assert ENVIRON == before
    assert list(env) == [name for name in ENVIRON if name in NORMAL]


def test_defaults() -> None:
    assert "PATH" in DEFAULT_ALLOW and "PYTHONPATH" in DEFAULT_ALLOW
    assert DEFAULT_PREFIXES == ("LC_", "HOTSTART_")
    assert not any(prefix.startswith("PYTHON") for prefix in DEFAULT_PREFIXES)
    assert not {"PYTHONINSPECT", "PYTHONSTARTUP", "PYTHONBREAKPOINT", "LD_PRELOAD"} & DEFAULT_ALLOW
    assert not set(SECRETS) & DEFAULT_ALLOW
    # names in DEFAULT_ALLOW were chosen by hand: none looks like a secret by accident
    assert not [name for name in DEFAULT_ALLOW if name.endswith(("_KEY", "_TOKEN", "_SECRET"))]


def test_default_environ_is_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "from-os-environ")
    monkeypatch.setenv("HOTSTART_TEST_VALUE", "kept")
    env = scrubbed()
    assert "AWS_SECRET_ACCESS_KEY" not in env
    assert env["HOTSTART_TEST_VALUE"] == "kept"


def test_allow_adds_exact_names_even_secret_looking_ones() -> None:
    env = scrubbed(ENVIRON, allow=["EDITOR", "HF_TOKEN"])
    assert env["EDITOR"] == "vim"
    assert env["HF_TOKEN"] == SECRETS["HF_TOKEN"]  # naming it is an explicit decision
    assert "GITHUB_TOKEN" not in env


def test_prefixes() -> None:
    source = {"MYAPP_MODE": "fast", "MYAPP_WORKERS": "4", "MYAPP_SECRET": "x",
              "MYAPPX": "no", "HOTSTART_CACHE_DIR": "/c", "LC_TIME": "C", "OTHER": "no"}
    env = scrubbed(source, prefixes=["MYAPP_"])
    assert env == {"MYAPP_MODE": "fast", "MYAPP_WORKERS": "4", "HOTSTART_CACHE_DIR": "/c",
                   "LC_TIME": "C"}


def test_replace_defaults() -> None:
    env = scrubbed(ENVIRON, allow=["PATH"], prefixes=["HOTSTART_"], replace_defaults=True)
    assert env == {"PATH": NORMAL["PATH"], "HOTSTART_PRELOAD": "pandas,numpy",
                   "HOTSTART_EAGER": "0"}
    assert scrubbed(ENVIRON, replace_defaults=True) == {}


def test_deny_beats_allow_and_prefixes() -> None:
    env = scrubbed(ENVIRON, allow=["EDITOR"], deny=["EDITOR", "PATH", "HOTSTART_EAGER",
                                                      "LC_NUMERIC"])
    assert not {"EDITOR", "PATH", "HOTSTART_EAGER", "LC_NUMERIC"} & set(env)
    assert env["HOTSTART_PRELOAD"] == "pandas,numpy"


def test_set_wins_over_everything() -> None:
    env = scrubbed(ENVIRON, deny=["OMP_NUM_THREADS", "TZ"],
                   set={"OMP_NUM_THREADS": "4", "TZ": "Europe/Paris", "NEW_NAME": "new",
                        "HOTSTART_PRELOAD": "json"})
    assert env["OMP_NUM_THREADS"] == "4"  # denied, then set: set wins
    assert env["TZ"] == "Europe/Paris"
    assert env["NEW_NAME"] == "new"
    assert env["HOTSTART_PRELOAD"] == "json"
    assert list(env)[-1] == "NEW_NAME"  # new names come after the inherited ones


@pytest.mark.parametrize("argument", ["allow", "prefixes", "deny"])
def test_a_bare_string_is_refused(argument: str) -> None:
    with pytest.raises(TypeError, match=argument):
        scrubbed(ENVIRON, **{argument: "PATH"})


@pytest.mark.parametrize("overrides", [{"": "x"}, {"A=B": "x"}, {"A\0": "x"}, {"A": "x\0y"}])
def test_set_values_that_cannot_be_in_an_environment(overrides: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        scrubbed(ENVIRON, set=overrides)


def test_set_value_must_be_a_string() -> None:
    with pytest.raises(TypeError):
        scrubbed(ENVIRON, set={"OMP_NUM_THREADS": 1})  # type: ignore[dict-item]


# -- apply, in real processes ---------------------------------------------------------------


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python -c CODE` started with exactly `env` (plus what it needs to import hotstart)."""
    import hotstart

    src = os.path.dirname(os.path.dirname(hotstart.__file__))
    env = {**env, "PYTHONPATH": src, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, text=True,
                          capture_output=True, timeout=60, stdin=subprocess.DEVNULL,
                          check=False)


def parse_env_output(text: str) -> dict[str, str]:
    """The output of `env` (names with simple values; ours have no newlines)."""
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def test_apply_scrubs_the_c_level_environment_seen_by_children() -> None:
    code = """
        import os, subprocess, sys
        from hotstart.pool.env import apply, scrubbed
        os.environ["ADDED_AFTER_START"] = "hunter2"   # put at the C level by os.environ
        apply(scrubbed(set={"HOTSTART_MARK": "applied"}))
        sys.stdout.write("--- os.system\\n"); sys.stdout.flush()
        os.system("env")
        sys.stdout.write("--- subprocess\\n"); sys.stdout.flush()
        subprocess.run(["env"], check=True)
        """
    result = run_python(code, ENVIRON)
    assert result.returncode == 0, result.stderr
    _, via_system, via_subprocess = result.stdout.split("--- ")
    for output in (via_system, via_subprocess):
        child = parse_env_output(output.split("\n", 1)[1])
        assert child.get("HOTSTART_MARK") == "applied", output
        if output is via_system:  # /bin/sh sets PWD itself: it must not be the inherited one
            assert child.pop("PWD", None) != UNWANTED["PWD"]
        leaked = (set(SECRETS) | set(PREFIXED_SECRETS) | set(UNWANTED) | {"ADDED_AFTER_START"})
        assert not leaked & set(child), f"leaked to a child: {leaked & set(child)}"
        for value in [*SECRETS.values(), *PREFIXED_SECRETS.values(), "hunter2"]:
            assert value not in output
        assert child["PATH"] == os.environ.get("PATH", "/usr/bin:/bin")
        assert child["HOTSTART_PRELOAD"] == "pandas,numpy"
        assert child["OMP_NUM_THREADS"] == "1"


def test_apply_deletes_what_was_put_at_the_c_level_only() -> None:
    # Not in os.environ: put by os.putenv and by a C library's setenv (ctypes here).
    code = """
        import ctypes, os, subprocess
        from hotstart.pool.env import apply, scrubbed
        os.putenv("PUT_BEHIND_PYTHON", "hunter2")
        ctypes.CDLL(None).setenv(b"SET_FROM_C", b"hunter3", 1)
        assert "SET_FROM_C" not in os.environ and "PUT_BEHIND_PYTHON" not in os.environ
        apply(scrubbed(set={"HOTSTART_MARK": "applied"}))
        subprocess.run(["env"], check=True)
        """
    result = run_python(code, ENVIRON)
    assert result.returncode == 0, result.stderr
    child = parse_env_output(result.stdout)
    assert child.get("HOTSTART_MARK") == "applied"
    assert not {"PUT_BEHIND_PYTHON", "SET_FROM_C"} & set(child)
    assert "hunter2" not in result.stdout and "hunter3" not in result.stdout


def test_the_lesson_adding_variables_does_not_remove_inherited_ones() -> None:
    # What went wrong in case 2: updating the environment leaves the inherited secrets.
    code = """
        import os, subprocess
        os.environ.update({"OMP_NUM_THREADS": "2"})
        subprocess.run(["env"], check=True, env={**os.environ, "HOTSTART_MARK": "x"})
        """
    child = parse_env_output(run_python(code, ENVIRON).stdout)
    assert set(SECRETS) <= set(child)  # the wrong way leaks every secret...
    code = """
        import os, subprocess
        from hotstart.pool.env import apply, scrubbed
        apply(scrubbed(set={"OMP_NUM_THREADS": "2"}))
        subprocess.run(["env"], check=True)
        """
    child = parse_env_output(run_python(code, ENVIRON).stdout)
    assert not set(SECRETS) & set(child)  # ...apply deletes them
    assert child["OMP_NUM_THREADS"] == "2"


def test_apply_makes_the_environment_exactly_the_mapping() -> None:
    code = """
        import json, os, subprocess
        from hotstart.pool.env import apply
        saved = dict(os.environ)
        apply({"ONLY": "this", "PATH": os.environ["PATH"]})
        inside = dict(os.environ)
        child = subprocess.run(["env"], capture_output=True, text=True, check=True).stdout
        apply(saved)                                   # restoring a snapshot works too
        restored = dict(os.environ)
        again = subprocess.run(["env"], capture_output=True, text=True, check=True).stdout
        apply(os.environ)                              # a no-op, even on os.environ itself
        print(json.dumps([inside, child, restored, saved, again, dict(os.environ)]))
        """
    result = run_python(code, {"DELETE_ME": "1", "KEEP_ME": "2"})
    assert result.returncode == 0, result.stderr
    inside, child, restored, saved, again, last = json.loads(result.stdout)
    assert set(inside) == {"ONLY", "PATH"}
    assert parse_env_output(child) == inside
    assert restored == saved == last
    assert parse_env_output(again)["DELETE_ME"] == "1"


def test_apply_checks_everything_before_changing_anything() -> None:
    code = """
        import os
        from hotstart.pool.env import apply
        before = dict(os.environ)
        for bad in ({"A=B": "x"}, {"": "x"}, {"A": "x\\0y"}, {"A": 1}):
            try:
                apply({"ONLY": "this", **bad})
            except (TypeError, ValueError) as error:
                print(type(error).__name__)
            assert dict(os.environ) == before, bad
        assert "PGPASSWORD" in os.environ
        """
    result = run_python(code, {"PGPASSWORD": "hunter2"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ValueError", "ValueError", "ValueError", "TypeError"]


def test_import_is_cheap() -> None:
    # The module file alone (the package __init__ files belong to others): nothing but os.
    import hotstart.pool.env as module

    code = f"""
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location("standalone_env", {module.__file__!r})
        module = importlib.util.module_from_spec(spec)
        before = set(sys.modules)
        spec.loader.exec_module(module)
        print(sorted(set(sys.modules) - before))
        """
    result = run_python(code, {})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
