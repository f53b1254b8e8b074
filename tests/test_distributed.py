"""Where research jobs run: Ray actors and tasks, torchrun ranks, and levels set
from the environment. Ray and torch are real (a local Ray cluster started by
the test, torchrun from the CPU build of torch); each test says why it skips."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from shared.logging_config import ray_runtime_env, setup_logging, shutdown_logging

from .conftest import read_jsonl, run_python

needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None,
    reason="ray is not installed (.ci/run installs it into the Python 3.11 environment)",
)
needs_torch = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None,
    reason="torch is not installed (.ci/run installs torch==2.13.0, the CPU build on this "
    "machine's disk, into the Python 3.11 environment only)",
)


def _logview_json(path: Path) -> list[dict[str, object]]:
    out = subprocess.run(
        [sys.executable, "-m", "shared.logview", str(path), "--json"],
        capture_output=True,
        check=True,
    ).stdout
    return [json.loads(line) for line in out.splitlines()]


def _logview_triage(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "shared.logview", str(path), "--triage", "--json"],
        capture_output=True,
        check=True,
    ).stdout
    found: dict[str, Any] = json.loads(out)
    return found


# --- levels from the environment ---------------------------------------------------------


def test_environment_levels_override_the_code_and_are_announced(tmp_path: Path) -> None:
    code = """
        import logging
        from shared.logging_config import setup_logging
        setup_logging(level="WARNING", log_file="app.jsonl", console=False,
                      logger_levels={"bifrost": "ERROR", "paramiko": "ERROR"})
        logging.getLogger("app").debug("app debug")
        logging.getLogger("bifrost").debug("bifrost debug")
        logging.getLogger("httpx").info("httpx info")
        logging.getLogger("httpx").warning("httpx warning")
        logging.getLogger("paramiko").warning("paramiko warning")
    """
    env = {
        "SHARED_LOGGING_LEVEL": "debug",
        "SHARED_LOGGING_LOGGER_LEVELS": "bifrost=DEBUG, httpx=WARNING",
    }
    run_python(code, tmp_path, env=env, check=True)
    records = read_jsonl(tmp_path / "app.jsonl")
    assert records[0]["level"] == "INFO"
    assert records[0]["message"] == (
        "levels from the environment: SHARED_LOGGING_LEVEL=debug, "
        "SHARED_LOGGING_LOGGER_LEVELS=bifrost=DEBUG, httpx=WARNING"
    )
    assert [r["message"] for r in records[1:]] == [
        "app debug",  # the root level from the environment
        "bifrost debug",  # the environment beat the code's ERROR
        "httpx warning",
    ]  # paramiko keeps the code's ERROR: the environment did not name it


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("SHARED_LOGGING_LEVEL", "LOUD", "SHARED_LOGGING_LEVEL='LOUD'"),
        ("SHARED_LOGGING_LOGGER_LEVELS", "bifrost=DEBUG,httpx", "'httpx' is not name=LEVEL"),
        ("SHARED_LOGGING_LOGGER_LEVELS", "bifrost=SHOUTY", "SHARED_LOGGING_LOGGER_LEVELS="),
    ],
)
def test_a_bad_environment_level_fails_fast_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, value: str, named: str
) -> None:
    setup_logging(log_file=tmp_path / "before.jsonl", console=False)
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=r"LOUD|httpx|SHOUTY") as raised:
        setup_logging(log_file=tmp_path / "after.jsonl", console=False)
    assert named in str(raised.value)
    assert value in str(raised.value)
    assert not (tmp_path / "after.jsonl").exists()  # the previous configuration stands


# --- ranks under a launcher ---------------------------------------------------------------

_RANKED = """
    import logging
    from shared.logging_config import setup_logging
    setup_logging(log_file="app.jsonl")
    logging.getLogger("train").info("info line")
    logging.getLogger("train").warning("warning line")
"""


def test_only_rank_zero_prints_info_and_other_ranks_are_tagged(tmp_path: Path) -> None:
    """WORLD_SIZE > 1: rank 0 prints from INFO up; the others WARNING and up, tagged;
    every rank's records go to the file with their rank."""
    consoles = {}
    for rank in (0, 1):
        env = {"RANK": str(rank), "WORLD_SIZE": "2", "LOCAL_RANK": str(rank)}
        consoles[rank] = run_python(_RANKED, tmp_path, env=env, check=True).stderr
    assert "INFO     train: info line" in consoles[0]
    assert "[rank" not in consoles[0]
    assert "info line" not in consoles[1]
    assert "[rank 1] " in consoles[1]
    assert consoles[1].splitlines()[0].startswith("[rank 1] ")
    assert "WARNING  train: warning line" in consoles[1]
    ranks = [(r["rank"], r["message"]) for r in read_jsonl(tmp_path / "app.jsonl")]
    assert ranks == [(0, "info line"), (0, "warning line"), (1, "info line"), (1, "warning line")]


_TORCHRUN = """
    import logging, os, sys, time
    import torch.distributed as dist
    from shared.logging_config import setup_logging
    setup_logging(log_file=sys.argv[1], use_queue_handler=True, repeat_limit=None)
    rank = int(os.environ["RANK"])
    log = logging.getLogger("train")
    dist.init_process_group("gloo")
    if rank == 0:
        for i in range(2000):
            log.info("rank 0 record %d", i)
    dist.barrier()  # rank 0 has logged its 2,000 records
    if rank == 1:
        log.info("rank 1 info")
        log.warning("rank 1 warning")
        raise RuntimeError("rank 1 diverged")
    while True:  # rank 0 waits in Python code for torchrun's SIGTERM
        time.sleep(0.05)
"""


@needs_torch
def test_torchrun_ranks_drain_on_sigterm_and_the_failing_rank_is_critical(
    tmp_path: Path,
) -> None:
    """Two ranks under torchrun: rank 1 raises after rank 0 logged 2,000 records;
    torchrun SIGTERMs rank 0; all 2,000 are on disk, rank 1's exception is a
    CRITICAL record with its rank, the console shows rank 0's INFO lines and not
    rank 1's, and rank 1's warning is tagged."""
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(_TORCHRUN))
    log_file = tmp_path / "app.jsonl"
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE")}
    env.update({"OMP_NUM_THREADS": "1", "TORCHELASTIC_ERROR_FILE": str(tmp_path / "err.json")})
    with socket.socket() as probe:  # a free port for the rendezvous (0 hangs torchrun)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
         f"--master_port={port}", "--monitor_interval=0.1", str(script), str(log_file)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert result.returncode != 0, result.stderr[-3000:]
    records = read_jsonl(log_file)
    rank0 = [r for r in records if r.get("rank") == 0 and r["logger"] == "train"]
    assert [r["message"] for r in rank0] == [f"rank 0 record {i}" for i in range(2000)]
    critical = [r for r in records if r["level"] == "CRITICAL"]
    assert len(critical) == 1, critical
    assert critical[0]["rank"] == 1
    assert critical[0]["exception"]["type"] == "RuntimeError"
    console = result.stderr + result.stdout
    assert "INFO     train: rank 0 record 0" in console
    assert "rank 1 info" not in console
    assert "[rank 1] " in console
    warning = next(line for line in console.splitlines() if "rank 1 warning" in line)
    assert "[rank 1] " in warning
    # The run triaged: rank 1's exception is the first failure, found in the
    # shared file that rank 0's 2,000 records fill.
    triaged = _logview_triage(log_file)
    failure = triaged["first_failure"]
    assert failure["rank"] == 1
    assert failure["exception"]["type"] == "RuntimeError"
    assert triaged["processes"] == 2
    assert triaged["records"] == len(records)


# --- Ray ------------------------------------------------------------------------------------

_RAY = """
    import logging, os, sys
    import ray
    from shared.logging_config import init_rollout_logging, ray_runtime_env, shutdown_logging

    run_dir = init_rollout_logging("ray", results_dir="results")
    log = logging.getLogger("driver")
    log.info("driver started")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env=ray_runtime_env({"env_vars": {"MY_VAR": "kept"}}))

    @ray.remote
    class Roller:
        def __init__(self, name):
            self.log = logging.getLogger("roller")
            self.name = name

        def run(self, n):
            for i in range(n):
                self.log.info("%s rollout %d", self.name, i)
            logging.getLogger("bifrost").debug("%s debug from the environment", self.name)
            return os.environ.get("MY_VAR")

        def fail(self):
            try:
                raise RuntimeError("env crashed")
            except RuntimeError:
                self.log.exception("%s rollout failed", self.name)
            return True

    @ray.remote
    def grade(x):
        logging.getLogger("grader").warning("graded %d", x)
        return x * 2

    alpha = Roller.options(name="alpha").remote("alpha")
    beta = Roller.options(name="beta").remote("beta")
    done = ray.get([alpha.run.remote(3), alpha.fail.remote(), grade.remote(21)])
    assert done == ["kept", True, 42]
    assert ray.get(beta.run.remote(200)) == "kept"
    ray.kill(beta)  # SIGKILL: no atexit, no signal handler
    log.info("driver done")
    ray.shutdown()
    shutdown_logging()
    print(run_dir)
"""


@needs_ray
def test_ray_actors_and_tasks_log_into_the_run_directory_with_their_identity(
    tmp_path: Path,
) -> None:
    """A local Ray cluster, two named actors and a task: every worker record in the
    run directory with Ray's identity fields, the actor's exception structured,
    the 200 records of a killed actor all on disk, and logview merging the
    driver and the workers in time order."""
    result = run_python(
        _RAY, tmp_path, env={"SHARED_LOGGING_LOGGER_LEVELS": "bifrost=DEBUG"}, timeout=180
    )
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = tmp_path / result.stdout.strip().splitlines()[-1]
    workers = sorted(run_dir.glob("error_log.*-*.jsonl"))
    assert len(workers) >= 3  # alpha, beta, and the task's worker
    records = [r for path in workers for r in read_jsonl(path)]
    ours = [r for r in records if r["logger"] != "shared.logging"]
    for record in ours:
        assert {"job_id", "node_id", "worker_id"} <= record.keys(), record
    by_actor: dict[str, list[dict[str, object]]] = {}
    for record in ours:
        if "actor_name" in record:
            assert record["actor_id"]
            assert record["task_name"].startswith("Roller.")  # type: ignore[union-attr]
            by_actor.setdefault(str(record["actor_name"]), []).append(record)
    assert set(by_actor) == {"alpha", "beta"}
    beta = [r["message"] for r in by_actor["beta"] if r["logger"] == "roller"]
    assert beta == [f"beta rollout {i}" for i in range(200)]  # killed, nothing lost
    (failed,) = [r for r in by_actor["alpha"] if r["level"] == "ERROR"]
    assert failed["exception"]["type"] == "RuntimeError"  # type: ignore[index]
    (graded,) = [r for r in ours if r["logger"] == "grader"]
    assert graded["task_name"] == "grade"
    assert graded["task_id"]
    assert "actor_id" not in graded
    debug = [r for r in ours if r["logger"] == "bifrost"]
    assert {r["actor_name"] for r in debug} == {"alpha", "beta"}  # the level reached them

    merged = _logview_json(run_dir)
    times = [str(r["timestamp"]) for r in merged]
    assert times == sorted(times)
    messages = [r["message"] for r in merged]
    assert messages.index("driver started") < messages.index("alpha rollout 0")
    assert messages.index("beta rollout 199") < messages.index("driver done")
    assert len(merged) == len(records) + len(read_jsonl(run_dir / "error_log.jsonl"))
    # The run directory triaged: no CRITICAL, so the first failure is alpha's
    # ERROR with its exception; the grader's warning is a kind of its own.
    triaged = _logview_triage(run_dir)
    failure = triaged["first_failure"]
    assert failure["actor_name"] == "alpha"
    assert failure["exception"]["type"] == "RuntimeError"
    before = [r["message"] for r in failure["before"]]
    assert "alpha rollout 2" in before
    assert all(r["process"] == failure["process"] for r in failure["before"])
    assert triaged["records"] == len(merged)
    kinds = {(k["level"], k["logger"], k["template"]) for k in triaged["kinds"]}
    assert ("WARNING", "grader", "graded %d".replace("%d", "<n>")) in kinds


@needs_ray
def test_ray_runtime_env_keeps_the_users_runtime_env_and_chains_their_hook(
    tmp_path: Path,
) -> None:
    setup_logging(log_file=tmp_path / "app.jsonl", console=False)
    env = ray_runtime_env(
        {"pip": ["datasets"], "env_vars": {"A": "1"}, "worker_process_setup_hook": "m.hook"}
    )
    assert env["pip"] == ["datasets"]
    assert env["env_vars"]["A"] == "1"
    settings = json.loads(env["env_vars"]["SHARED_LOGGING_RAY"])
    assert settings["directory"] == str(tmp_path.resolve())
    assert settings["stem"] == "app"
    hook = env["worker_process_setup_hook"]
    assert hook.keywords == {"then": "m.hook"}  # ours first, then theirs
    hook_name = ray_runtime_env()["worker_process_setup_hook"]
    assert hook_name == "shared.logging_config._setup_ray_worker"


def test_ray_runtime_env_needs_a_log_file_first() -> None:
    shutdown_logging()
    with pytest.raises((ValueError, ImportError), match=r"setup_logging|shared-logging\[ray\]"):
        ray_runtime_env()


def test_ray_runtime_env_without_ray_names_the_extra(tmp_path: Path) -> None:
    code = """
        import sys
        class NoRay:
            def find_spec(self, name, path=None, target=None):
                if name == "ray":
                    raise ModuleNotFoundError("No module named 'ray'")
        sys.meta_path.insert(0, NoRay())
        import importlib.util
        importlib.util.find_spec = lambda name, *a: None if name == "ray" else None
        from shared.logging_config import setup_logging, ray_runtime_env
        setup_logging(log_file="app.jsonl", console=False)
        try:
            ray_runtime_env()
        except ImportError as error:
            print(error)
    """
    out = run_python(code, tmp_path, check=True).stdout
    assert "pip install 'shared-logging[ray]'" in out
    assert "import ray" not in out
