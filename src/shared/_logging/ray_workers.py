"""Ray workers that log like the driver: ``ray_runtime_env()`` and the hook it installs.

The driver's configuration travels in one environment variable of the
runtime_env (``SHARED_LOGGING_RAY``, JSON); Ray's ``worker_process_setup_hook``
runs :func:`setup_worker` in every worker process before it runs a task or an
actor. Each worker then writes its own file in the driver's log directory
(``<stem>.<host>-<pid>.jsonl``), synchronously: a record is in the kernel when
the call returns, so ``ray.kill`` (SIGKILL, no atexit) loses nothing already
logged. ``logview <dir>`` merges the driver and every worker by time.

The hook itself is ``shared.logging_config._setup_ray_worker``: it calls
``setup_logging``, so it lives there, and this module never imports
logging_config.

Records carry Ray's identity under the names Ray's own JSON logging uses:
``job_id``, ``node_id``, ``worker_id`` (read once per process), ``actor_id``
and ``actor_name`` in an actor (read once, when the actor exists), ``task_id``
and ``task_name`` in a task (read per record, from the running task).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any, Final

from . import fields as F
from .options import Options

VARIABLE: Final = "SHARED_LOGGING_RAY"
#: The worker hook, by name: Ray imports it in each worker (nothing is pickled).
#: It lives in logging_config (it calls setup_logging), which imports this
#: module and not the other way round.
HOOK: Final = "shared.logging_config._setup_ray_worker"
_NOT_PASSED: Final = frozenset({"log_file", "use_queue_handler", "use_rich", "rich_tracebacks"})


def runtime_env(
    options: Options | None, base: Mapping[str, Any] | None, hook: Callable[..., None]
) -> dict[str, Any]:
    """``base`` (the user's runtime_env) with our ``hook`` (named by HOOK) and the
    driver's configuration."""
    if importlib.util.find_spec("ray") is None:
        raise ImportError(
            "ray_runtime_env() needs the 'ray' package; install it with "
            "pip install 'shared-logging[ray]'"
        )
    if options is None or options.log_file is None:
        raise ValueError(
            "ray_runtime_env() sends the driver's log directory to the workers: call "
            "setup_logging(log_file=...) or init_rollout_logging() first"
        )
    merged = dict(base or {})
    env_vars = dict(merged.get("env_vars") or {})
    env_vars[VARIABLE] = json.dumps(_settings(options))
    for variable in (F.LEVEL_VARIABLE, F.LOGGER_LEVELS_VARIABLE):
        if variable in os.environ:  # a run's level override reaches its workers
            env_vars.setdefault(variable, os.environ[variable])
    merged["env_vars"] = env_vars
    theirs = merged.get("worker_process_setup_hook")
    if theirs is None:
        merged["worker_process_setup_hook"] = HOOK
    else:  # both run: ours first, so their hook's records are written too
        merged["worker_process_setup_hook"] = functools.partial(hook, then=theirs)
    return merged


def passed_options(options: Options) -> dict[str, Any]:
    """The driver's options as setup_logging's keyword arguments (JSON-able), less
    those a worker sets for itself: its file, queue and console look."""
    passed = {k: v for k, v in asdict(options).items() if k not in _NOT_PASSED}
    passed["redact_patterns"] = [p.pattern for p in options.redact_patterns]
    passed["logger_levels"] = dict(options.logger_levels)
    passed["otlp_headers"] = dict(options.otlp_headers)
    passed["redact_keys"] = list(options.redact_keys)
    passed["leave_loggers"] = list(options.leave_loggers)
    return passed


def _settings(options: Options) -> dict[str, Any]:
    assert options.log_file is not None
    passed = passed_options(options)
    return {
        "directory": str(options.log_file.resolve().parent),
        "stem": options.log_file.name.removesuffix(".jsonl"),
        "options": passed,
    }


def worker_file(settings: Mapping[str, Any]) -> Path:
    """This worker's own file beside the driver's: ``<stem>.<host>-<pid>.jsonl``."""
    name = f"{settings['stem']}.{socket.gethostname()}-{os.getpid()}.jsonl"
    return Path(settings["directory"]) / name


def call_hook(hook: Callable[[], object] | str) -> None:
    """The user's own worker_process_setup_hook: a callable, or its dotted name."""
    if callable(hook):
        hook()
        return
    module, _, function = hook.rpartition(".")
    getattr(importlib.import_module(module), function)()


class RayIdentity(logging.Filter):
    """Ray's identity on each record, as extras (an explicit extra of the same
    name wins): per-process fields once, the actor's once it exists, the task's
    per record."""

    def __init__(self) -> None:
        super().__init__()
        import ray  # noqa: PLC0415 - only in a Ray worker

        self._context = ray.get_runtime_context
        context = ray.get_runtime_context()
        self._fixed: dict[str, str] = {
            "job_id": context.get_job_id(),
            "node_id": context.get_node_id(),
            "worker_id": context.get_worker_id(),
        }
        self._actor: dict[str, str] = {}
        self._task: tuple[object, dict[str, str]] = (None, {})

    def filter(self, record: logging.LogRecord) -> bool:
        state = record.__dict__
        for key, value in self._fixed.items():
            state.setdefault(key, value)
        try:
            self._add_running(state)
        except Exception:  # noqa: S110 - Ray shutting down: the record still goes out
            pass
        return True

    def _add_running(self, state: dict[str, Any]) -> None:
        context = self._context()
        if not self._actor:
            actor_id = context.get_actor_id()
            if actor_id:
                self._actor = {"actor_id": actor_id, "actor_name": context.get_actor_name() or ""}
        for key, value in self._actor.items():
            state.setdefault(key, value)
        task_id = context.get_task_id()
        if not task_id:
            return
        cached_id, fields = self._task
        if cached_id != task_id:
            fields = {"task_id": task_id, "task_name": context.get_task_name() or ""}
            self._task = (task_id, fields)
        for key, value in fields.items():
            state.setdefault(key, value)
