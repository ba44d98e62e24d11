"""The deployment files agree: the Dockerfile, compose.yaml and the Procfile run the same
commands, the image runs as a non-root user offline with the CPU torch the project pins,
and the services have their health checks. Read statically (no container engine here);
scripts/check_procfile.sh starts the Procfile's processes for real, and hadolint lints the
Dockerfile (.ci/run).

Each reader is also run on a small made-up file that breaks the rule, so each check can fail.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML ships no types; only safe_load is used

ROOT = Path(__file__).resolve().parent.parent


def procfile(text: str) -> dict[str, list[str]]:
    """``name: command`` lines -> name -> argv."""
    processes = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, command = line.split(":", 1)
            processes[name.strip()] = shlex.split(command)
    return processes


def instructions(text: str) -> list[tuple[str, str]]:
    """The Dockerfile's instructions (continuations joined, comments dropped), per stage in order."""
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line.strip() else "")
            for line in joined.splitlines() if line.strip()]


def final_stage(text: str) -> list[tuple[str, str]]:
    steps = instructions(text)
    last_from = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[last_from:]


def dockerfile_problems(text: str, processes: dict[str, list[str]], torch_pin: str) -> list[str]:
    problems = []
    steps = instructions(text)
    runtime = final_stage(text)
    if sum(1 for op, _ in steps if op == "FROM") < 2:
        problems.append("not a multi-stage build")
    cmd = [json.loads(arg) for op, arg in runtime if op == "CMD"]
    if not cmd or cmd[-1] != processes.get("web"):
        problems.append(f"CMD {cmd[-1] if cmd else None} is not the Procfile's web {processes.get('web')}")
    users = [arg.split(":")[0] for op, arg in runtime if op == "USER"]
    if not users or users[-1] in ("root", "0"):
        problems.append("the runtime stage runs as root")
    env = " ".join(arg for op, arg in runtime if op == "ENV")
    if "HF_HUB_OFFLINE=1" not in env:
        problems.append("HF_HUB_OFFLINE=1 is not set in the runtime stage")
    runs = [arg for op, arg in steps if op == "RUN"]
    torch_at = next((i for i, r in enumerate(runs) if f'"{torch_pin}"' in r or f" {torch_pin}" in r), None)
    app_at = next((i for i, r in enumerate(runs) if "pip install" in r and ("-e ." in r or "requirements" in r)), None)
    if torch_at is None:
        problems.append(f"{torch_pin} is not installed")
    elif app_at is None or torch_at > app_at:
        problems.append("torch is not installed before the app's dependencies")
    if not any("i18n.sh compile" in r for r in runs):
        problems.append("translations are not compiled")
    if not any("build_assets.sh" in r for r in runs):
        problems.append("assets are not built")
    if not any(op == "HEALTHCHECK" and "/healthz" in arg for op, arg in runtime):
        problems.append("no HEALTHCHECK on /healthz")
    return problems


def compose_problems(compose: dict, processes: dict[str, list[str]]) -> list[str]:
    problems = []
    services = compose.get("services", {})
    for name in ("web", "worker", "scheduler", "postgres", "redis"):
        if name not in services:
            problems.append(f"no {name} service")
    for name, argv in processes.items():
        if name in services and services[name].get("command") != argv:
            problems.append(f"{name}'s command {services[name].get('command')} is not the Procfile's {argv}")
    web_check = " ".join(map(str, services.get("web", {}).get("healthcheck", {}).get("test", [])))
    for path in ("/healthz", "/readyz"):
        if path not in web_check:
            problems.append(f"web's health check does not ask {path}")
    for name in ("postgres", "redis"):
        if not services.get(name, {}).get("healthcheck", {}).get("test"):
            problems.append(f"{name} has no health check")
    for name in ("web", "worker", "scheduler"):
        deps = services.get(name, {}).get("depends_on", {})
        for needed in ("postgres", "redis"):
            if deps.get(needed, {}).get("condition") != "service_healthy":
                problems.append(f"{name} does not wait for a healthy {needed}")
    return problems


def torch_pin() -> str:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    return next(d for d in dependencies if d.startswith("torch=="))


def test_procfile_has_web_worker_and_scheduler() -> None:
    processes = procfile((ROOT / "Procfile").read_text(encoding="utf-8"))
    assert processes["web"] == ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
    assert processes["worker"] == ["flask", "--app", "wsgi", "jobs", "worker"]
    assert processes["scheduler"] == ["flask", "--app", "wsgi", "jobs", "scheduler"]
    assert (ROOT / "gunicorn.conf.py").is_file()


def test_dockerfile_runs_the_procfiles_web_as_a_user_offline() -> None:
    processes = procfile((ROOT / "Procfile").read_text(encoding="utf-8"))
    assert dockerfile_problems((ROOT / "Dockerfile").read_text(encoding="utf-8"), processes, torch_pin()) == []


def test_compose_runs_the_procfiles_commands_with_health_checks() -> None:
    processes = procfile((ROOT / "Procfile").read_text(encoding="utf-8"))
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    assert compose_problems(compose, processes) == []


GOOD_DOCKERFILE = """FROM python:3.11-slim AS build
RUN pip install "torch==2.13.0"
RUN pip install -r /tmp/requirements.txt && scripts/build_assets.sh && scripts/i18n.sh compile
FROM python:3.11-slim
ENV HF_HUB_OFFLINE=1
USER 10001:10001
HEALTHCHECK CMD ["python", "-c", "get('/healthz')"]
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
"""


@pytest.mark.parametrize(("change", "problem"), [
    (lambda t: t.replace('CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]', 'CMD ["flask", "run"]'), "CMD"),
    (lambda t: t.replace("USER 10001:10001\n", ""), "root"),
    (lambda t: t.replace("USER 10001:10001", "USER root"), "root"),
    (lambda t: t.replace("ENV HF_HUB_OFFLINE=1\n", ""), "HF_HUB_OFFLINE"),
    (lambda t: t.replace('RUN pip install "torch==2.13.0"\n', "") + 'RUN pip install "torch==2.13.0"\n', "before"),
    (lambda t: t.replace(" && scripts/i18n.sh compile", ""), "translations"),
    (lambda t: t.replace("FROM python:3.11-slim AS build\n", ""), "multi-stage"),
    (lambda t: t.replace("/healthz", "/"), "HEALTHCHECK"),
])
def test_dockerfile_check_finds_each_problem(change, problem) -> None:  # type: ignore[no-untyped-def]
    web = {"web": ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]}
    assert dockerfile_problems(GOOD_DOCKERFILE, web, "torch==2.13.0") == []
    assert any(problem in p for p in dockerfile_problems(change(GOOD_DOCKERFILE), web, "torch==2.13.0"))


def test_compose_check_finds_a_command_that_is_not_the_procfiles() -> None:
    processes = procfile((ROOT / "Procfile").read_text(encoding="utf-8"))
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    assert compose_problems(compose, processes) == []
    compose["services"]["worker"]["command"] = ["rq", "worker"]
    del compose["services"]["redis"]["healthcheck"]
    compose["services"]["web"]["healthcheck"]["test"] = ["CMD", "true"]
    problems = compose_problems(compose, processes)
    assert any("worker's command" in p for p in problems)
    assert any("redis has no health check" in p for p in problems)
    assert any("/readyz" in p for p in problems)


def test_gunicorn_conf_fixes_the_mmap_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings file loads, reads MALLOC_MMAP_THRESHOLD (128 KiB by default) and its glibc call runs."""
    import runpy

    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert conf["MMAP_THRESHOLD"] == 128 * 1024
    conf["_fix_mmap_threshold"]()  # mallopt on glibc; nothing elsewhere
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD", "0")
    assert runpy.run_path(str(ROOT / "gunicorn.conf.py"))["MMAP_THRESHOLD"] == 0


def test_gunicorn_access_log_cuts_the_secret_of_a_single_use_link_out_of_the_path() -> None:
    """The access log's path and request line never hold a reset, invitation or confirmation secret."""
    import json
    import runpy
    from datetime import timedelta

    from gunicorn.config import Config

    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    config = Config()
    config.set("accesslog", "-")
    config.set("access_log_format", conf["access_log_format"])
    logger = conf["logger_class"](config)

    class Response:
        status, sent, headers = "200 OK", 10, [("X-Request-ID", "r1")]

    def line(path: str, query: str = "") -> dict[str, str]:
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query, "RAW_URI": path,
                   "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.0.0.1", "HTTP_USER_AGENT": "x"}
        atoms = logger.atoms(Response(), type("Request", (), {"headers": []})(), environ, timedelta(seconds=0.01))
        assert "s3cr3t" not in atoms["r"]
        return json.loads(conf["access_log_format"] % atoms)

    for path in ("/password/reset/s3cr3t", "/invitations/s3cr3t", "/account/verify/s3cr3t"):
        logged = line(path, "lang=zh")
        assert logged["path"] == path.replace("s3cr3t", "[secret]") and logged["query"] == "lang=zh"
    assert line("/challenges/12/proposals")["path"] == "/challenges/12/proposals"  # other paths as they are


def test_compose_keeps_the_app_port_to_the_proxy_and_the_documents_on_a_volume() -> None:
    """The app trusts X-Forwarded-For (TRUSTED_PROXIES=1), so only the proxy on this host may
    reach its port; and uploads must outlive the container, whose code is read-only."""
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    web = compose["services"]["web"]
    assert all(str(port).startswith("127.0.0.1:") for port in web["ports"]), web["ports"]
    storage = web["environment"]["DOCUMENT_STORAGE_DIR"]
    mounts = [str(v).split(":")[1] for v in web.get("volumes", [])]
    assert any(storage.startswith(m.rstrip("/") + "/") for m in mounts), (storage, mounts)
    assert set(compose["services"]["worker"].get("volumes", [])) == set(web["volumes"])
