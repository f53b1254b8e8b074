"""One call to set up logging for a research job.

    from shared.logging_config import setup_logging
    setup_logging(level="INFO", log_file="logs/app.jsonl", use_queue_handler=True)

``setup_logging`` reads top to bottom as: validate the options, build the new
pipeline, swap it in (the old one drained and closed), install the hooks. If
anything fails before the swap, the previous configuration is untouched.
"""

from __future__ import annotations

import atexit
import datetime as _dt
import logging
import os
import re
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ._logging import fields as F
from ._logging.options import LevelLike, Options, build_options

if TYPE_CHECKING:  # imported lazily at run time: `import shared.logging_config` stays fast
    from ._logging.console_handler import ConsoleHandler
    from ._logging.files import RotatingJSONLWriter
    from ._logging.hooks import Hooks
    from ._logging.neighbours import Neighbours
    from ._logging.otlp import OTLPExport
    from ._logging.pipeline import Pipeline
    from ._logging.queue import BoundedQueueHandler, PipelineHandler
    from ._logging.sinks import HandlerConsole, TextConsole

__all__ = [
    "LoggingStats",
    "flush_logging",
    "init_rollout_logging",
    "logging_stats",
    "pool_logging",
    "ray_runtime_env",
    "setup_logging",
    "shutdown_logging",
]


class LoggingStats(NamedTuple):
    """Record counts for the current configuration (zeros when there is none)."""

    #: Records written to the file (to the console when there is no file).
    written: int
    #: Records the full queue dropped (``overflow="drop"``).
    dropped: int
    #: Records lost to write errors (disk full, file deleted, permission lost).
    lost: int
    #: Records the OpenTelemetry collector accepted (with ``otlp_endpoint``).
    exported: int = 0
    #: Records that could not be exported (collector down, or its buffer full).
    export_dropped: int = 0


def setup_logging(
    level: LevelLike = F.DEFAULT_LEVEL,
    log_file: str | PathLike[str] | None = None,
    *,
    use_queue_handler: bool = False,
    logger_levels: Mapping[str, LevelLike] | None = None,
    use_rich: bool = False,
    rich_tracebacks: bool = False,
    max_log_bytes: int = F.DEFAULT_MAX_LOG_BYTES,
    backup_count: int = F.DEFAULT_BACKUP_COUNT,
    keep_first: bool = False,
    console: bool = True,
    console_level: LevelLike | None = None,
    console_json: bool = False,
    repeat_limit: int | None = F.DEFAULT_REPEAT_LIMIT,
    repeat_window: float = F.DEFAULT_REPEAT_WINDOW_SECONDS,
    queue_size: int = F.DEFAULT_QUEUE_SIZE,
    queue_bytes: int = F.DEFAULT_QUEUE_BYTES,
    overflow: str = "block",
    redact: bool = True,
    redact_keys: Iterable[str] | None = None,
    redact_patterns: Iterable[str | re.Pattern[str]] | None = None,
    max_record_bytes: int = F.DEFAULT_MAX_RECORD_BYTES,
    otlp_endpoint: str | None = None,
    service_name: str | None = None,
    otlp_headers: Mapping[str, str] | None = None,
    leave_loggers: Iterable[str] | None = None,
    capture_warnings: bool = True,
) -> None:
    """Configure the root logger: console, rotated JSONL file, optional queue.

    Calling it again replaces the previous configuration cleanly. A bad value
    raises ``ValueError``/``TypeError``/``OSError`` naming it and what would be
    valid, before anything changes.

    Parameters:

    * **level** - the root logger's level: a name (any case, custom names from
      ``logging.addLevelName`` too) or an int.
    * **log_file** - path of the JSONL file (parent directories are created);
      ``None`` for the console only.
    * **use_queue_handler** - the caller only renders the message, takes the
      context and freezes the extras; one writer thread formats, redacts and
      writes in batches. Recommended for async code.
    * **logger_levels** - per-logger levels, e.g. ``{"httpx": "WARNING"}``; put
      back by ``shutdown_logging()``.
    * **use_rich** - print the console through rich's ``RichHandler`` (needs
      the ``rich`` extra). **rich_tracebacks** is passed to it.
    * **max_log_bytes** - rotate before a file would pass this size (>= 512).
    * **backup_count** - rotated files kept (``app.jsonl.1`` ... ``.N``);
      ``0`` truncates in place.
    * **keep_first** - keep the run's first file (``app.jsonl.first``) through
      every rotation, so the records that came first (the root cause of an
      error storm, often) survive it; at most ``backup_count + 2`` files.
    * **console** - ``False`` keeps the console out entirely.
    * **console_level** - the console's own threshold; default: INFO and up
      when there is a file, everything the loggers let through otherwise.
    * **console_json** - print JSON lines on the console instead of human ones.
    * **repeat_limit** - storm control on the console: records of one kind (same
      logger, level, message template and exception type) print at most this
      many times per **repeat_window** seconds, then one summary line says how
      many were left out. The file keeps every record. ``None`` prints all.
    * **queue_size** - bound of the queue, in records.
    * **queue_bytes** - bound of what large records (4 KiB and up) hold in the
      queue at once, in bytes; ``overflow`` says what happens past it too.
    * **overflow** - when the queue is full: ``"block"`` waits for room
      (nothing lost), ``"drop"`` never waits and reports drops in one record.
    * **redact** - mask secrets in the file and on the console.
      **redact_keys** adds key words, **redact_patterns** adds regexes.
    * **max_record_bytes** - bound of one serialized record (>= 512); longer
      values are cut with a marker.
    * **otlp_endpoint** - also export every record over OTLP/HTTP (needs the
      ``otlp`` extra); **service_name** and **otlp_headers** go with it.
    * **leave_loggers** - logger names (with their children) whose handlers we
      leave as they are. By default a library logger's own terminal handler
      (transformers, Lightning, mlflow...) is taken aside and its records reach
      our file and console once, even with ``propagate=False``; shutdown puts
      the handlers back.
    * **capture_warnings** - ``warnings.warn`` becomes a WARNING record of
      ``py.warnings`` with its category, file and line (default); ``False``
      leaves warnings to the warnings module.
    """
    options = build_options(
        level=level,
        log_file=log_file,
        use_queue_handler=use_queue_handler,
        logger_levels=logger_levels,
        use_rich=use_rich,
        rich_tracebacks=rich_tracebacks,
        max_log_bytes=max_log_bytes,
        backup_count=backup_count,
        keep_first=keep_first,
        console=console,
        console_level=console_level,
        console_json=console_json,
        repeat_limit=repeat_limit,
        repeat_window=repeat_window,
        queue_size=queue_size,
        queue_bytes=queue_bytes,
        overflow=overflow,
        redact=redact,
        redact_keys=redact_keys,
        redact_patterns=redact_patterns,
        max_record_bytes=max_record_bytes,
        otlp_endpoint=otlp_endpoint,
        service_name=service_name,
        otlp_headers=otlp_headers,
        leave_loggers=leave_loggers,
        capture_warnings=capture_warnings,
    )
    with _lock:
        installation = _build(options)  # may raise: nothing has changed yet
        _swap_in(installation)
    _announce_environment_levels()


def _announce_environment_levels() -> None:
    """One INFO record when the environment overrode the code's levels (whatever
    the levels now are: the record says why they are what they are)."""
    from ._logging.options import environment_levels  # noqa: PLC0415

    text = environment_levels(os.environ).text
    if text:
        logger = logging.getLogger(F.OWN_LOGGER)
        record = logger.makeRecord(
            logger.name, logging.INFO, __file__, 0,
            "levels from the environment: %s", (text,), None, func="setup_logging",
        )  # fmt: skip
        logger.handle(record)


def shutdown_logging() -> None:
    """Drain the queue, stop the writer thread, close the files, undo the setup.

    Idempotent. The root logger gets back the level, handlers and hooks it had
    before the first ``setup_logging``.
    """
    global _current  # noqa: PLW0603 - the process has one logging configuration
    with _lock:
        if _current is not None:
            _current.uninstall()
            _current = None


def flush_logging(timeout: float = F.FLUSH_TIMEOUT_SECONDS) -> bool:
    """Wait until every record logged so far is written; False if ``timeout`` passed.

    Call it from your own SIGTERM handler (we install ours only when SIGTERM
    has its default disposition) or before ``os._exit``.
    """
    installation = _current
    if installation is None:
        return True
    return installation.handler.flush_records(timeout)


def logging_stats() -> LoggingStats:
    """How many records were written, dropped and lost under the current configuration."""
    installation = _current
    if installation is None:
        return LoggingStats(0, 0, 0)
    otlp = installation.handler.pipeline.otlp
    if otlp is None:
        return LoggingStats(*installation.handler.stats())
    return LoggingStats(*installation.handler.stats(), otlp.exported, otlp.dropped)


def init_rollout_logging(
    name: str,
    results_dir: str | PathLike[str] = "results",
    *,
    level: LevelLike = F.DEFAULT_LEVEL,
    logger_levels: Mapping[str, LevelLike] | None = None,
    use_queue_handler: bool = True,
) -> Path:
    """Create ``results/<name>_YYYYMMDD-HHMMSS/``, log to the console and to
    ``error_log.jsonl`` inside it, and return the directory."""
    if not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\0" in name:
        raise ValueError(f"experiment name {name!r} must be a non-empty name without '/'")
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(results_dir)
    run_dir = base / f"{name}_{stamp}"
    suffix = 1
    while True:  # two runs started in the same second get distinct directories
        try:
            run_dir.mkdir(parents=True, exist_ok=False)
            break
        except FileExistsError:
            suffix += 1
            run_dir = base / f"{name}_{stamp}-{suffix}"
    setup_logging(
        level=level,
        log_file=run_dir / "error_log.jsonl",
        logger_levels=logger_levels,
        use_queue_handler=use_queue_handler,
        keep_first=True,  # the run's first records are its root cause, often
    )
    return run_dir


def ray_runtime_env(base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A Ray ``runtime_env`` that configures every worker process like this driver.

        run_dir = init_rollout_logging("grpo")
        ray.init(runtime_env=ray_runtime_env({"pip": ["datasets"]}))

    ``base`` is your own runtime_env, merged (its ``env_vars`` kept, its
    ``worker_process_setup_hook`` run after ours). Each worker writes
    ``<stem>.<host>-<pid>.jsonl`` beside the driver's file, synchronously (a
    ``ray.kill`` loses nothing already logged), and its records carry
    ``job_id``, ``node_id``, ``worker_id``, and ``actor_id``/``actor_name`` or
    ``task_id``/``task_name``. ``SHARED_LOGGING_LEVEL`` and
    ``SHARED_LOGGING_LOGGER_LEVELS`` reach the workers too. Needs the ``ray``
    extra, and ``setup_logging(log_file=...)`` or ``init_rollout_logging`` first.
    """
    from ._logging.ray_workers import runtime_env  # noqa: PLC0415 - Ray users only

    installation = _current
    return runtime_env(installation.options if installation else None, base, _setup_ray_worker)


def _setup_ray_worker(then: Callable[[], object] | str | None = None) -> None:
    """Ray's worker_process_setup_hook (``ray_runtime_env``): the driver's
    configuration, a file of the worker's own, Ray's identity on each record."""
    import json  # noqa: PLC0415

    from ._logging.ray_workers import VARIABLE, RayIdentity, call_hook, worker_file  # noqa: PLC0415

    settings = json.loads(os.environ[VARIABLE])
    setup_logging(
        log_file=worker_file(settings),
        use_queue_handler=False,  # every record on disk when the call returns
        **settings["options"],
    )
    installation = _current
    if installation is not None:
        installation.handler.addFilter(RayIdentity())
    if then is not None:
        call_hook(then)


def pool_logging() -> dict[str, Any]:
    """``initializer`` and ``initargs`` that configure a worker pool's processes
    like this one, for any pool that takes them:

        with joblib.parallel_config(backend="loky", **pool_logging()):
            Parallel(n_jobs=8)(delayed(work)(i) for i in items)
        ProcessPoolExecutor(8, **pool_logging())
        multiprocessing.get_context("spawn").Pool(8, **pool_logging())

    Each worker writes the same file, synchronously (a worker killed by the
    pool loses nothing already logged), and prints its console lines itself.
    Without it a spawned worker (joblib's default loky backend, spawn and
    forkserver pools) has no configuration: its records reach stderr bare or
    not at all, and never the file. Call ``setup_logging`` first.
    """
    import json  # noqa: PLC0415

    from ._logging.ray_workers import passed_options  # noqa: PLC0415

    installation = _current
    if installation is None:
        raise RuntimeError(
            "pool_logging() passes this process's configuration on: call setup_logging() first"
        )
    options = installation.options
    settings = {
        "log_file": str(options.log_file.resolve()) if options.log_file else None,
        "options": passed_options(options),
        "use_rich": options.use_rich,
    }
    return {"initializer": _setup_pool_worker, "initargs": (json.dumps(settings),)}


def _setup_pool_worker(settings: str) -> None:
    """A pool worker's initializer (see pool_logging)."""
    import json  # noqa: PLC0415

    found = json.loads(settings)
    setup_logging(
        log_file=found["log_file"], use_queue_handler=False, use_rich=found["use_rich"],
        **found["options"],
    )  # fmt: skip


def _current_handler() -> logging.Handler | None:
    """Our handler on the root logger now (for the Ray worker hook's filter)."""
    installation = _current
    return installation.handler if installation is not None else None


# --- the installation ---------------------------------------------------------------


@dataclass
class _Installation:
    """One configuration: what it installed and what it must put back."""

    options: Options
    handler: PipelineHandler | BoundedQueueHandler
    hooks: Hooks
    console_handler: ConsoleHandler | None = None
    saved_root_level: int = logging.WARNING
    saved_levels: dict[str, int] = field(default_factory=dict)
    removed_handlers: list[logging.Handler] = field(default_factory=list)
    neighbours: Neighbours | None = None

    def our_handlers(self) -> list[logging.Handler]:
        """What this configuration puts on the root logger."""
        if self.console_handler is None:
            return [self.handler]
        return [self.handler, self.console_handler]

    def uninstall(self) -> None:
        root = logging.getLogger()
        neighbours = self.neighbours
        if neighbours is not None:  # first: what follows adds handlers and sets levels
            neighbours.uninstall()
        self.hooks.uninstall()
        # Drain while still attached: what the writer's own work logs meanwhile
        # (a console stream that logs, an exporter's warnings) reaches the file,
        # not logging.lastResort.
        self.handler.stop(F.FLUSH_TIMEOUT_SECONDS)
        self.handler.pipeline.flush(final=True)  # storm summaries, while the console is ours
        root.removeHandler(self.handler)
        if self.console_handler is not None:
            root.removeHandler(self.console_handler)
            self.console_handler.printed_by_pipeline = False
        self.handler.shutdown()
        root.setLevel(self.saved_root_level)
        for name, saved in self.saved_levels.items():
            # The level the library set meanwhile, if it did.
            level = neighbours.level_to_restore(name, saved) if neighbours else saved
            logging.getLogger(name).setLevel(level)
        for handler in self.removed_handlers:
            if handler not in root.handlers:
                root.addHandler(handler)


_lock = threading.RLock()
_current: _Installation | None = None
_process_hooks_registered = False


def _build(options: Options) -> _Installation:
    from ._logging.hooks import Hooks, in_multiprocessing_child  # noqa: PLC0415
    from ._logging.pipeline import Pipeline  # noqa: PLC0415
    from ._logging.queue import BoundedQueueHandler, PipelineHandler  # noqa: PLC0415
    from ._logging.record import process_identity  # noqa: PLC0415
    from ._logging.redact import Redactor  # noqa: PLC0415

    identity = process_identity()
    console = _console_sink(options)  # may raise (rich missing): before anything is opened
    writer = _open_writer(options)
    try:
        otlp = _otlp_export(options, identity)
    except BaseException:
        if writer is not None:
            writer.close()
        raise
    pipeline = Pipeline(
        writer=writer,
        console=console,
        redactor=(
            Redactor.default(options.redact_keys, options.redact_patterns)
            if options.redact
            else None
        ),
        identity=identity,
        max_record_bytes=options.record_limit,
        otlp=otlp,
    )
    # A multiprocessing worker writes synchronously (see queue.py: after_fork_in_child).
    queued = options.use_queue_handler and not in_multiprocessing_child()
    handler: PipelineHandler | BoundedQueueHandler
    if queued:
        handler = BoundedQueueHandler(
            pipeline, options.queue_size, options.overflow, options.queue_bytes
        )
    else:
        handler = PipelineHandler(pipeline)
    console_handler = _console_handler(options, pipeline)
    if isinstance(handler, BoundedQueueHandler):
        handler.console_gate = console_handler
    hooks = Hooks(
        flush=handler.flush_records,
        console_shows_crashes=options.console and options.console_level <= logging.CRITICAL,
        handle_sigterm=queued,
        file_handler=handler if pipeline.console_only is None else None,
    )
    return _Installation(
        options=options, handler=handler, hooks=hooks, console_handler=console_handler
    )


def _console_handler(options: Options, pipeline: Pipeline) -> ConsoleHandler | None:
    """The stdlib StreamHandler that stands for our console on the root logger."""
    from ._logging.console_handler import ConsoleHandler  # noqa: PLC0415
    from ._logging.sinks import TextConsole  # noqa: PLC0415

    console = pipeline.console
    if console is None:
        return None
    stream = console.stream if isinstance(console, TextConsole) else sys.stderr
    handler = ConsoleHandler(stream, console.level, pipeline.console_text, console.storms)
    handler.honours_formatter = isinstance(console, TextConsole) and console.renderer is not None
    console.gate = handler
    return handler


def _otlp_export(options: Options, identity: Mapping[str, object]) -> OTLPExport | None:
    if options.otlp_endpoint is None:
        return None
    from ._logging.otlp import OTLPExport  # noqa: PLC0415 - the SDK only when asked for

    export = OTLPExport(
        options.otlp_endpoint, options.service_name, dict(options.otlp_headers), identity
    )
    _flush_export_in_multiprocessing_children()
    return export


class _ForkToken:
    """multiprocessing.util keys its after-fork callbacks by a weak-referenceable object."""


_fork_token = _ForkToken()
_mp_hook_registered = False


def _flush_export_in_multiprocessing_children() -> None:
    """Multiprocessing workers end with os._exit, skipping atexit: flush the export
    at their normal end with a multiprocessing Finalize. It must be registered from
    register_after_fork: Process._bootstrap clears the finalizers that an
    os.register_at_fork hook would register."""
    global _mp_hook_registered  # noqa: PLW0603
    if _mp_hook_registered:
        return
    _mp_hook_registered = True
    import multiprocessing.util as mp_util  # noqa: PLC0415 - only with OTLP export

    def in_child(token: _ForkToken) -> None:
        mp_util.Finalize(token, _flush_export_at_exit, exitpriority=10)

    mp_util.register_after_fork(_fork_token, in_child)


def _flush_export_at_exit() -> None:
    installation = _current
    if installation is not None and installation.handler.pipeline.otlp is not None:
        installation.handler.pipeline.otlp.close(F.OTLP_FLUSH_TIMEOUT_SECONDS)


def _open_writer(options: Options) -> RotatingJSONLWriter | None:
    if options.log_file is None:
        return None
    from ._logging.files import RotatingJSONLWriter  # noqa: PLC0415

    try:
        return RotatingJSONLWriter(
            options.log_file, options.max_log_bytes, options.backup_count, options.keep_first
        )
    except OSError as error:
        raise type(error)(
            error.errno,
            f"cannot open log_file {str(options.log_file)!r}: {error.strerror}; "
            "give a path in a directory you can write to",
        ) from error


def _console_sink(options: Options) -> TextConsole | HandlerConsole | None:
    if not options.console:
        return None
    from ._logging.sinks import HandlerConsole, TextConsole  # noqa: PLC0415
    from ._logging.storms import Storms  # noqa: PLC0415

    storms = None
    if options.repeat_limit is not None:
        storms = Storms(options.repeat_limit, options.repeat_window)
    level, tag = _rank_console_policy(options.console_level)
    if options.use_rich:
        return HandlerConsole(_rich_handler(options), level, storms)
    from ._logging.console import ConsoleRenderer, want_colors  # noqa: PLC0415

    stream = sys.stderr
    renderer = None if options.console_json else ConsoleRenderer(want_colors(stream), tag)
    return TextConsole(stream, level, renderer, storms)


def _rank_console_policy(level: int) -> tuple[int, str]:
    """Under a launcher with several ranks (torchrun, accelerate, srun with RANK and
    WORLD_SIZE set): rank 0 prints from the console level up; the others print
    WARNING and up, each line tagged with the rank, so eight ranks do not print
    everything eight times. The files get every rank's records."""
    rank, world = os.environ.get("RANK", ""), os.environ.get("WORLD_SIZE", "")
    if not (rank.isdigit() and world.isdigit()) or int(world) <= 1 or int(rank) == 0:
        return level, ""
    return max(level, logging.WARNING), f"[rank {int(rank)}] "


def _rich_handler(options: Options) -> logging.Handler:
    try:
        from rich.console import Console  # noqa: PLC0415
        from rich.logging import RichHandler  # noqa: PLC0415
    except ImportError:
        raise ImportError(
            "use_rich=True needs the 'rich' package; install it with "
            "pip install 'shared-logging[rich]'"
        ) from None
    # rich prints to stdout by default; our console, like stdlib's, is stderr.
    return RichHandler(console=Console(stderr=True), rich_tracebacks=options.rich_tracebacks)


def _swap_in(new: _Installation) -> None:
    global _current  # noqa: PLW0603 - the process has one logging configuration
    root = logging.getLogger()
    old = _current
    if old is not None:
        old.uninstall()  # drained and closed; levels, handlers and hooks put back
    new.saved_root_level = root.level
    for name, level in new.options.logger_levels:
        logger = logging.getLogger(name)
        new.saved_levels.setdefault(name, logger.level)
        logger.setLevel(level)
    from ._logging.neighbours import Neighbours, is_terminal_handler  # noqa: PLC0415

    # Handlers printing to the terminal would print every line twice; others
    # (pytest's caplog, a file another tool added) keep working.
    new.removed_handlers = [h for h in root.handlers if is_terminal_handler(h)]
    for handler in new.removed_handlers:
        root.removeHandler(handler)
    root.setLevel(new.options.level)
    root.addHandler(new.handler)
    if new.console_handler is not None:
        new.console_handler.printed_by_pipeline = True
        root.addHandler(new.console_handler)
    new.handler.start()
    new.hooks.install()
    # Library loggers (transformers, Lightning, mlflow...) and warnings, last:
    # what it finds must see our handlers in place.
    new.neighbours = Neighbours(
        new.our_handlers,
        new.console_handler,
        dict(new.options.logger_levels),
        new.options.leave_loggers,
        new.options.capture_warnings,
    )
    new.neighbours.install()
    _current = new
    _register_process_hooks()


def _register_process_hooks() -> None:
    global _process_hooks_registered  # noqa: PLW0603
    if _process_hooks_registered:
        return
    _process_hooks_registered = True
    atexit.register(_at_exit)
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _at_exit() -> None:
    """Drain the queue before the interpreter goes; later records are written synchronously."""
    installation = _current
    if installation is None:
        return
    # From here on no lock of ours is waited for without a deadline: a daemon
    # thread still logging may be frozen holding one once the interpreter ends.
    installation.handler.pipeline.exiting = True
    installation.handler.stop(F.FLUSH_TIMEOUT_SECONDS)
    pipeline = installation.handler.pipeline
    pipeline.flush(final=True)  # storm summaries of windows still open
    if pipeline.otlp is not None:  # after the queue drained into it
        pipeline.otlp.close(F.OTLP_FLUSH_TIMEOUT_SECONDS)
    if pipeline.writer is not None:
        pipeline.writer.report_if_still_failing()


def _after_fork_in_child() -> None:
    global _lock  # noqa: PLW0603 - a lock held by another thread at fork is never released
    _lock = threading.RLock()
    installation = _current
    if installation is None:
        return
    installation.handler.after_fork_in_child()
    installation.hooks.after_fork_in_child()
