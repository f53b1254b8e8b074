"""The research stack logs through us: transformers, datasets, Lightning, mlflow,
Hydra, joblib, warnings, structlog, loguru, tqdm, an APM wrapper.

Each test runs a fresh interpreter with the real package, imported before or
after ``setup_logging``, in both modes, and reads the run's file and stderr:
every record reaches the file once and the console once. The packages are
installed by ``scripts/test`` on Python 3.11; elsewhere a test says why it skips.
"""

from __future__ import annotations

import importlib.util
import re
import textwrap
import warnings
from pathlib import Path
from typing import Any

import pytest

from shared.logging_config import setup_logging, shutdown_logging

from .conftest import read_jsonl, run_python

MODES = [False, True]
MODE_IDS = ["sync", "queue"]


def needs(*packages: str) -> pytest.MarkDecorator:
    missing = [p for p in packages if importlib.util.find_spec(p) is None]
    return pytest.mark.skipif(
        bool(missing),
        reason=f"{', '.join(missing)} not installed (scripts/test installs the research "
        "stack into the Python 3.11 environment)",
    )


def run_job(
    body: str,
    tmp_path: Path,
    queued: bool,
    *,
    setup: str = "",
    env: dict[str, str] | None = None,
    timeout: float = 180,
) -> tuple[list[dict[str, Any]], str, int]:
    """``body`` with ``SETUP`` replaced by our setup call; the file's records,
    stderr, and the exit code."""
    call = setup or f'setup_logging(log_file="app.jsonl", use_queue_handler={queued})'
    code = "from shared.logging_config import setup_logging, shutdown_logging\n"
    code += textwrap.dedent(body).replace("SETUP", call)
    result = run_python(code, tmp_path, env=env, timeout=timeout)
    path = tmp_path / "app.jsonl"
    records = read_jsonl(path) if path.exists() else []
    return records, result.stderr, result.returncode


def messages(records: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    return [r for r in records if text in str(r.get("message", ""))]


def console_lines(stderr: str, text: str) -> list[str]:
    return [line for line in stderr.splitlines() if text in line]


def once_in_our_format(stderr: str, text: str, logger: str, level: str) -> None:
    (line,) = console_lines(stderr, text)
    assert re.match(
        rf"\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{{3}} {level}\s+{re.escape(logger)}: ", line
    ), line


# --- library loggers -------------------------------------------------------------------


TRANSFORMERS = """
    import logging, os
    {before}
    SETUP
    {after}
    from transformers.utils import logging as hf_logging
    hf_logging.get_logger("transformers.modeling_utils").warning("hf warning")
    hf_logging.set_verbosity_info()
    hf_logging.get_logger("transformers.trainer").info("hf info")
    print("LEVEL", logging.getLogger("transformers").level, flush=True)
    shutdown_logging()
    lib = logging.getLogger("transformers")
    print("AFTER", lib.level, lib.propagate, [type(h).__name__ for h in lib.handlers], flush=True)
"""


@needs("transformers")
@pytest.mark.parametrize("queued", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("order", ["before", "after", "ci"])
def test_transformers_records_reach_the_file_once_and_print_once(
    tmp_path: Path, queued: bool, order: str
) -> None:
    """transformers' own handler and propagate=False (or propagate=True under
    CI=true): each record in the file once and on the console once, in our
    format; its verbosity API still works; shutdown puts its handler back."""
    imp = "import transformers.utils.logging as _t; _t.get_logger('transformers')"
    before, after = (imp, "") if order != "after" else ("", imp)
    env = {"CI": "true"} if order == "ci" else {"CI": ""}
    code = "from shared.logging_config import setup_logging, shutdown_logging\n"
    code += textwrap.dedent(TRANSFORMERS.format(before=before, after=after)).replace(
        "SETUP", f'setup_logging(log_file="app.jsonl", use_queue_handler={queued})'
    )
    result = run_python(code, tmp_path, env=env, timeout=180)
    err, rc = result.stderr, result.returncode
    assert rc == 0, err
    records = read_jsonl(tmp_path / "app.jsonl")
    # shutdown puts transformers' own handler back, with the level it set
    assert f"AFTER 20 {order == 'ci'} ['StreamHandler']" in result.stdout
    (warning,) = messages(records, "hf warning")
    assert warning["logger"] == "transformers.modeling_utils"
    (info,) = messages(records, "hf info")
    assert info["level"] == "INFO"
    once_in_our_format(err, "hf warning", "transformers.modeling_utils", "WARNING")
    once_in_our_format(err, "hf info", "transformers.trainer", "INFO")
    assert "[transformers]" not in err  # its own format never printed


@needs("transformers")
@pytest.mark.parametrize("queued", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("source", ["argument", "environment"])
def test_logger_levels_hold_after_the_librarys_import(
    tmp_path: Path, queued: bool, source: str
) -> None:
    """logger_levels={"transformers": "DEBUG"} survives transformers' setLevel at
    import; shutdown leaves the level transformers set, not NOTSET, and its
    own handler and propagate=False."""
    if source == "argument":
        setup = (
            f'setup_logging(log_file="app.jsonl", use_queue_handler={queued}, '
            'logger_levels={"transformers": "DEBUG"})'
        )
        env = {}
    else:
        setup = f'setup_logging(log_file="app.jsonl", use_queue_handler={queued})'
        env = {"SHARED_LOGGING_LOGGER_LEVELS": "transformers=DEBUG"}
    body = """
        import logging
        SETUP
        from transformers.utils import logging as hf_logging
        hf_logging.get_logger("transformers.x").debug("hf debug")
        print("LEVEL", logging.getLogger("transformers").level, flush=True)
        shutdown_logging()
        lib = logging.getLogger("transformers")
        kinds = [type(h).__name__ for h in lib.handlers]
        print("AFTER", lib.level, lib.propagate, kinds, flush=True)
    """
    code = "from shared.logging_config import setup_logging, shutdown_logging\n"
    code += textwrap.dedent(body).replace("SETUP", setup)
    result = run_python(code, tmp_path, env={**env, "CI": ""}, timeout=180)
    assert result.returncode == 0, result.stderr
    records = read_jsonl(tmp_path / "app.jsonl")
    assert len(messages(records, "hf debug")) == 1
    assert "LEVEL 10" in result.stdout
    assert "AFTER 30 False ['StreamHandler']" in result.stdout  # transformers' WARNING default
    if source == "environment":
        (announced,) = messages(records, "levels from the environment")
        assert "transformers=DEBUG" in announced["message"]


@needs("datasets")
@pytest.mark.parametrize("queued", MODES, ids=MODE_IDS)
def test_datasets_prints_once(tmp_path: Path, queued: bool) -> None:
    body = """
        import datasets
        SETUP
        datasets.logging.get_logger("datasets.builder").warning("ds warning")
    """
    records, err, rc = run_job(body, tmp_path, queued)
    assert rc == 0, err
    assert len(messages(records, "ds warning")) == 1
    once_in_our_format(err, "ds warning", "datasets.builder", "WARNING")


@needs("lightning")
@pytest.mark.parametrize("queued", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("order", ["before", "after"])
def test_lightning_records_reach_the_file_once(tmp_path: Path, queued: bool, order: str) -> None:
    """Imported before setup: its handler and propagate=False; after: its handler
    beside ours. Either way each record once in the file, once on the console."""
    imp = "import lightning.pytorch"
    body = f"""
        import logging
        {imp if order == "before" else ""}
        SETUP
        {imp if order == "after" else ""}
        logging.getLogger("lightning.pytorch.utilities.rank_zero").info("pl info")
        logging.getLogger("lightning.fabric").warning("fabric warning")
    """
    records, err, rc = run_job(body, tmp_path, queued)
    assert rc == 0, err
    assert len(messages(records, "pl info")) == 1
    assert len(messages(records, "fabric warning")) == 1
    once_in_our_format(err, "pl info", "lightning.pytorch.utilities.rank_zero", "INFO")
    once_in_our_format(err, "fabric warning", "lightning.fabric", "WARNING")


@needs("mlflow")
@pytest.mark.parametrize("queued", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("order", ["before", "after"])
def test_mlflow_records_reach_the_file_once(tmp_path: Path, queued: bool, order: str) -> None:
    """mlflow assigns its handler list directly and sets propagate=False."""
    body = f"""
        import logging
        {"import mlflow" if order == "before" else ""}
        SETUP
        {"import mlflow" if order == "after" else ""}
        logging.getLogger("mlflow.tracking").warning("mlflow warning")
        shutdown_logging()
        lib = logging.getLogger("mlflow")
        print("AFTER", lib.propagate, [type(h).__name__ for h in lib.handlers], flush=True)
    """
    code = "from shared.logging_config import setup_logging, shutdown_logging\n"
    code += textwrap.dedent(body).replace(
        "SETUP", f'setup_logging(log_file="app.jsonl", use_queue_handler={queued})'
    )
    result = run_python(code, tmp_path, timeout=180)
    assert result.returncode == 0, result.stderr
    records = read_jsonl(tmp_path / "app.jsonl")
    assert len(messages(records, "mlflow warning")) == 1
    once_in_our_format(result.stderr, "mlflow warning", "mlflow.tracking", "WARNING")
    assert "AFTER False ['StreamHandler']" in result.stdout


@pytest.mark.parametrize("queued", MODES, ids=MODE_IDS)
def test_a_handler_that_writes_elsewhere_stays_and_leave_loggers_keeps_ours(
    tmp_path: Path, queued: bool
) -> None:
    """A library's file handler is never taken; leave_loggers keeps a logger's
    terminal handler as configured (its records stay its own)."""
    body = f"""
        import logging, sys
        lib = logging.getLogger("lib")
        lib.addHandler(logging.FileHandler("lib.log"))
        lib.addHandler(logging.StreamHandler(sys.stderr))
        lib.propagate = False
        mine = logging.getLogger("mine")
        mine.addHandler(logging.StreamHandler(sys.stderr))
        mine.propagate = False
        setup_logging(log_file="app.jsonl", use_queue_handler={queued}, leave_loggers=["mine"])
        lib.warning("lib warning")
        mine.warning("mine warning")
    """
    records, err, rc = run_job(body, tmp_path, queued, setup="pass")
    assert rc == 0, err
    assert "lib warning" in (tmp_path / "lib.log").read_text()
    assert len(messages(records, "lib warning")) == 1
    once_in_our_format(err, "lib warning", "lib", "WARNING")
    assert messages(records, "mine warning") == []
    assert console_lines(err, "mine warning") == ["mine warning"]  # its own handler's format


# --- warnings ----------------------------------------------------------------------------


@pytest.mark.parametrize("queued", MODES, ids=MODE_IDS)
def test_warnings_reach_the_file_once_with_category_file_and_line(
    tmp_path: Path, queued: bool
) -> None:
    body = """
        import warnings
        original = warnings.showwarning
        SETUP
        warnings.warn("old api", DeprecationWarning, stacklevel=1)  # line 6
        shutdown_logging()
        print("RESTORED", warnings.showwarning is original, flush=True)
    """
    code = "from shared.logging_config import setup_logging, shutdown_logging\n"
    code += textwrap.dedent(body).replace(
        "SETUP",
        f'import warnings as w; w.simplefilter("always"); '
        f'setup_logging(log_file="app.jsonl", use_queue_handler={queued})',
    )
    result = run_python(code, tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    (record,) = messages(read_jsonl(tmp_path / "app.jsonl"), "old api")
    assert record["logger"] == "py.warnings"
    assert record["message"] == "DeprecationWarning: old api"
    assert record["category"] == "DeprecationWarning"
    assert record["warning_file"].endswith("script.py")
    assert record["warning_line"] == 6
    assert record["line"] == 6
    once_in_our_format(result.stderr, "old api", "py.warnings", "WARNING")
    assert "RESTORED True" in result.stdout


def test_capture_warnings_false_leaves_warnings_alone(tmp_path: Path) -> None:
    body = """
        import warnings
        warnings.simplefilter("always")
        setup_logging(log_file="app.jsonl", capture_warnings=False)
        warnings.warn("left alone")
    """
    records, err, rc = run_job(body, tmp_path, False, setup="pass")
    assert rc == 0, err
    assert messages(records, "left alone") == []
    assert "UserWarning: left alone" in err


def test_pytest_still_records_warnings(tmp_path: Path) -> None:
    """pytest.warns (catch_warnings(record=True)) inside a configured run."""
    setup_logging(log_file=tmp_path / "app.jsonl", console=False)
    with pytest.warns(UserWarning, match="seen by pytest"):
        warnings.warn("seen by pytest", stacklevel=1)
    shutdown_logging()


# --- signals in company ------------------------------------------------------------------


LIGHTNING_SIGTERM = """
    import logging, os, signal
    SETUP
    import torch
    from torch.utils.data import DataLoader, TensorDataset
    import lightning.pytorch as pl

    class Model(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(4, 1)
        def training_step(self, batch, batch_idx):
            if batch_idx == 3:
                os.kill(os.getpid(), signal.SIGTERM)
            logging.getLogger("train").info("step %d", batch_idx)
            return self.layer(batch[0]).sum()
        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    data = DataLoader(TensorDataset(torch.randn(64, 4)), batch_size=4)
    trainer = pl.Trainer(max_epochs=1, accelerator="cpu", logger=False,
                         enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False)
    try:
        trainer.fit(Model(), data)
    except BaseException as exc:
        logging.getLogger("train").error("fit ended by %s", type(exc).__name__)
        raise
    finally:
        print("FINALLY", flush=True)
"""


@needs("lightning", "torch")
@pytest.mark.parametrize("queued", MODES, ids=MODE_IDS)
def test_lightning_handles_sigterm_that_chains_ours(tmp_path: Path, queued: bool) -> None:
    """Lightning's SIGTERM handler chains the previous one (ours, in queue mode):
    ours flushes and returns, Lightning's plan runs (finally blocks included)."""
    code = "from shared.logging_config import setup_logging, shutdown_logging\n"
    code += textwrap.dedent(LIGHTNING_SIGTERM).replace(
        "SETUP", f'setup_logging(log_file="app.jsonl", use_queue_handler={queued})'
    )
    result = run_python(code, tmp_path, timeout=300)
    assert "FINALLY" in result.stdout, result.stderr
    assert result.returncode in (0, 1), result.stderr  # Lightning's own exit, not -15
    records = read_jsonl(tmp_path / "app.jsonl")
    assert len(messages(records, "step 3")) == 1


# --- Hydra -------------------------------------------------------------------------------


HYDRA_APP = """
    import logging, sys
    import hydra
    from shared.logging_config import setup_logging
    {outside}

    @hydra.main(version_base=None, config_path=None)
    def task(cfg):
        {inside}
        logging.getLogger("task").info("task info")
        logging.getLogger("task").warning("task warning")
        {fail}

    if __name__ == "__main__":
        task()
"""


@needs("hydra")
@pytest.mark.parametrize("queued", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("where", ["before-main", "inside-task"])
@pytest.mark.parametrize("fails", [False, True], ids=["ok", "raises"])
def test_hydra_task_records_reach_the_file_once(
    tmp_path: Path, queued: bool, where: str, fails: bool
) -> None:
    call = f'setup_logging(log_file="{tmp_path}/app.jsonl", use_queue_handler={queued})'
    code = HYDRA_APP.format(
        outside=call if where == "before-main" else "",
        inside=call if where == "inside-task" else "pass",
        fail='raise RuntimeError("task broke")' if fails else "",
    )
    result = run_python(textwrap.dedent(code), tmp_path, env={"HYDRA_FULL_ERROR": ""}, timeout=120)
    assert result.returncode == (1 if fails else 0), result.stderr
    records = read_jsonl(tmp_path / "app.jsonl")
    assert len(messages(records, "task info")) == 1
    assert len(messages(records, "task warning")) == 1
    both = result.stdout + result.stderr
    assert len(console_lines(both, "task warning")) == 1
    if fails:
        (failure,) = [r for r in records if "exception" in r]
        assert failure["exception"]["type"] == "RuntimeError"
        assert failure["exception"]["message"] == "task broke"
        assert "task broke" in failure["exception"]["traceback"]
        # Hydra printed it its own way; our record of it goes to the file only.
        assert both.count("RuntimeError: task broke") == 1, both


EXIT_IN_EXCEPT = """
    import logging, sys
    from shared.logging_config import setup_logging
    setup_logging(log_file="app.jsonl", use_queue_handler={queued})
    try:
        raise ValueError("bad config")
    except ValueError as error:
        {report}
        sys.exit(2)
"""


@pytest.mark.parametrize("queued", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("report", ["print", "log"])
def test_sys_exit_in_an_except_block_puts_the_exception_in_the_file_once(
    tmp_path: Path, queued: bool, report: str
) -> None:
    """A program that handles its exception and exits with a failure status has
    said on the terminal what it wanted said: the exception goes to the file
    (once, even when the program logged it itself), not a second time to the
    console."""
    code = EXIT_IN_EXCEPT.format(
        queued=queued,
        report='print("error:", error, file=sys.stderr)'
        if report == "print"
        else 'logging.getLogger("app").exception("giving up")',
    )
    result = run_python(textwrap.dedent(code), tmp_path)
    assert result.returncode == 2, result.stderr
    records = read_jsonl(tmp_path / "app.jsonl")
    (failure,) = [r for r in records if "exception" in r]
    assert failure["exception"]["message"] == "bad config"
    assert failure["logger"] == ("uncaught" if report == "print" else "app")
    assert result.stderr.count("bad config\n") == 1, result.stderr


# --- worker pools ------------------------------------------------------------------------


JOBLIB = """
    import logging
    from joblib import Parallel, delayed, parallel_config
    from shared.logging_config import setup_logging, pool_logging
    setup_logging(log_file="app.jsonl", use_queue_handler={queued})

    def work(i):
        logging.getLogger("worker").info("worker %d", i)
        return i

    if __name__ == "__main__":
        with parallel_config(backend="loky", **pool_logging()):
            out = Parallel(n_jobs=2)(delayed(work)(i) for i in range(6))
        assert out == list(range(6))
        logging.getLogger("main").info("done")
"""


@needs("joblib")
@pytest.mark.parametrize("queued", MODES, ids=MODE_IDS)
def test_joblib_loky_workers_write_the_file(tmp_path: Path, queued: bool) -> None:
    result = run_python(textwrap.dedent(JOBLIB.format(queued=queued)), tmp_path, timeout=180)
    assert result.returncode == 0, result.stderr
    records = read_jsonl(tmp_path / "app.jsonl")
    found = sorted(r["message"] for r in records if r["logger"] == "worker")
    assert found == [f"worker {i}" for i in range(6)]
    assert len(messages(records, "done")) == 1
    for i in range(6):
        assert len(console_lines(result.stderr, f"worker {i}")) == 1


# --- other logging styles ----------------------------------------------------------------


@needs("structlog")
@pytest.mark.parametrize("queued", MODES, ids=MODE_IDS)
def test_structlog_stdlib_integration(tmp_path: Path, queued: bool) -> None:
    body = """
        import structlog
        SETUP
        structlog.configure(
            processors=[structlog.stdlib.add_log_level,
                        structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
            logger_factory=structlog.stdlib.LoggerFactory(),
            wrapper_class=structlog.stdlib.BoundLogger,
        )
        structlog.get_logger("svc").warning("request done", user_id=7, path="/x")
    """
    records, err, rc = run_job(body, tmp_path, queued)
    assert rc == 0, err
    (record,) = messages(records, "request done")
    assert record["message"] == "request done"
    assert record["logger"] == "svc"
    assert record["user_id"] == 7
    assert record["path"] == "/x"
    assert record["extra_level"] == "warning"  # structlog's own key, renamed
    (line,) = console_lines(err, "request done")
    assert "{'event'" not in line
    assert "user_id=7" in line


@needs("loguru")
@pytest.mark.parametrize("queued", MODES, ids=MODE_IDS)
def test_loguru_propagate_recipe(tmp_path: Path, queued: bool) -> None:
    body = """
        import logging
        from loguru import logger
        SETUP

        class PropagateHandler(logging.Handler):
            def emit(self, record):
                logging.getLogger(record.name).handle(record)

        logger.remove()
        logger.add(PropagateHandler(), format="{message}")
        try:
            1 / 0
        except ZeroDivisionError:
            logger.exception("loguru failed")
        logger.bind(run="r1").warning("loguru bound")
    """
    records, err, rc = run_job(body, tmp_path, queued)
    assert rc == 0, err
    (failed,) = messages(records, "loguru failed")
    assert failed["message"] == "loguru failed"
    assert failed["exception"]["type"] == "ZeroDivisionError"
    assert err.count("ZeroDivisionError: division by zero") == 1
    assert "extra={}" not in err
    (bound,) = messages(records, "loguru bound")
    assert bound["run"] == "r1"


@pytest.mark.parametrize("queued", MODES, ids=MODE_IDS)
def test_set_formatter_on_our_handlers(tmp_path: Path, queued: bool) -> None:
    """The console honours a formatter; the JSONL file refuses one, naming why."""
    body = """
        import logging
        SETUP
        for handler in logging.root.handlers:
            try:
                handler.setFormatter(logging.Formatter("CUSTOM %(levelname)s %(message)s"))
            except TypeError as exc:
                print("REFUSED", exc, flush=True)
        logging.getLogger("app").warning("formatted")
    """
    code = "from shared.logging_config import setup_logging, shutdown_logging\n"
    code += textwrap.dedent(body).replace(
        "SETUP", f'setup_logging(log_file="app.jsonl", use_queue_handler={queued})'
    )
    result = run_python(code, tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert console_lines(result.stderr, "formatted") == ["CUSTOM WARNING formatted"]
    assert "REFUSED" in result.stdout
    assert "JSONL" in result.stdout
    (record,) = messages(read_jsonl(tmp_path / "app.jsonl"), "formatted")
    assert record["level"] == "WARNING"


# --- the console -------------------------------------------------------------------------


@needs("tqdm")
@pytest.mark.parametrize("run", range(5))
def test_tqdm_redirect_prints_each_record_once_in_queue_mode(tmp_path: Path, run: int) -> None:
    body = """
        import logging, sys
        from tqdm import tqdm
        from tqdm.contrib.logging import logging_redirect_tqdm
        SETUP
        log = logging.getLogger("train")
        with logging_redirect_tqdm():
            for step in tqdm(range(20), file=sys.stderr):
                log.info("step %d", step)
        log.info("after the bar")
    """
    records, err, rc = run_job(body, tmp_path, True)
    assert rc == 0, err
    for step in range(20):
        assert (
            len(console_lines(err, f"step {step}\n".strip() + " "))
            + len([x for x in err.splitlines() if x.endswith(f"step {step}")])
            == 1
        ), err
    assert len(console_lines(err, "after the bar")) == 1
    assert len(records) == 21


def test_a_make_record_wrapper_installed_before_our_import_is_chained(tmp_path: Path) -> None:
    """ddtrace-run wraps Logger.makeRecord before the application imports us."""
    code = """
        import functools, logging
        original = logging.Logger.makeRecord
        @functools.wraps(original)
        def traced(self, *args, **kwargs):
            record = original(self, *args, **kwargs)
            record.dd_trace_id = "t-1"
            return record
        logging.Logger.makeRecord = traced
        from shared.logging_config import setup_logging
        setup_logging(log_file="app.jsonl", use_queue_handler=True)
        logging.getLogger("app").warning("traced")
    """
    result = run_python(code, tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    (record,) = messages(read_jsonl(tmp_path / "app.jsonl"), "traced")
    assert record["dd_trace_id"] == "t-1"


@pytest.mark.parametrize("queued", MODES, ids=MODE_IDS)
def test_training_progress_is_never_summarised_but_an_error_storm_is(
    tmp_path: Path, queued: bool
) -> None:
    body = """
        import logging
        SETUP
        log = logging.getLogger("train")
        for step in range(40):
            log.info("step %d loss %.3f", step, 1.0 / (step + 1))
        for i in range(40):
            log.error("worker %d lost", i)
    """
    records, err, rc = run_job(body, tmp_path, queued)
    assert rc == 0, err
    assert len(records) == 80
    assert len(console_lines(err, " loss ")) == 40
    assert len([x for x in err.splitlines() if x.endswith(" lost")]) == 5
    assert "35 more like this" in err


def test_colour_codes_in_messages_are_dropped_other_escapes_stay(tmp_path: Path) -> None:
    body = """
        import logging
        SETUP
        logging.getLogger("transformers").warning("\\x1b[1mbold\\x1b[0m report \\x1b[2J cleared")
    """
    records, err, rc = run_job(body, tmp_path, False)
    assert rc == 0, err
    (line,) = console_lines(err, "report")
    assert "bold report \\x1b[2J cleared" in line
    assert "\x1b[1m" not in line
    assert "\\x1b[1m" not in line
    assert records[-1]["message"] == "\x1b[1mbold\x1b[0m report \x1b[2J cleared"  # file: as logged


@pytest.mark.parametrize("queued", MODES, ids=MODE_IDS)
def test_ray_bookkeeping_stays_in_the_file_and_leaves_the_console(
    tmp_path: Path, queued: bool
) -> None:
    """The attributes Ray puts on records (and our Ray identity fields) are for
    the file; the console shows the message and the user's own fields."""
    body = """
        import logging
        SETUP
        logging.getLogger("actor").warning("rollout done", extra={
            "_ray_timestamp_ns": 1, "job_id": "01000000", "node_id": "ab" * 28,
            "worker_id": "cd" * 28, "actor_id": "ef" * 16, "task_id": "12" * 24,
            "actor_name": "Rollout", "task_name": "run", "reward": 0.5})
    """
    records, err, rc = run_job(body, tmp_path, queued)
    assert rc == 0, err
    (line,) = console_lines(err, "rollout done")
    assert line.endswith("rollout done reward=0.5"), line
    (record,) = messages(records, "rollout done")
    assert record["node_id"] == "ab" * 28
    assert record["_ray_timestamp_ns"] == 1


# --- free-threaded Python ----------------------------------------------------------------


def test_the_c_extension_is_not_loaded_on_a_free_threaded_build(tmp_path: Path) -> None:
    """Loading a module without Py_mod_gil on a free-threaded build turns the GIL
    back on for the whole process: there the pure-Python path serves."""
    code = """
        import sysconfig
        real = sysconfig.get_config_var
        sysconfig.get_config_var = lambda name: 1 if name == "Py_GIL_DISABLED" else real(name)
        import sys
        from shared._logging import speedups
        print("LOADED", speedups.AVAILABLE, "shared._logging._speedups" in sys.modules, flush=True)
    """
    result = run_python(code, tmp_path, env={"SHARED_LOGGING_REQUIRE_SPEEDUPS": ""})
    assert result.returncode == 0, result.stderr
    assert "LOADED False False" in result.stdout


POOLS = """
    import logging, multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from shared.logging_config import setup_logging, pool_logging
    setup_logging(log_file="app.jsonl", use_queue_handler={queued})

    def work(i):
        logging.getLogger("worker").info("{kind} %d", i)
        return i

    if __name__ == "__main__":
        if "{kind}" == "executor":
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(2, mp_context=context, **pool_logging()) as pool:
                assert list(pool.map(work, range(4))) == list(range(4))
        else:
            with multiprocessing.get_context("spawn").Pool(2, **pool_logging()) as pool:
                assert pool.map(work, range(4)) == list(range(4))
"""


@pytest.mark.parametrize("queued", MODES, ids=MODE_IDS)
@pytest.mark.parametrize("kind", ["executor", "spawn-pool"])
def test_spawn_pools_and_process_pool_executor_write_the_file(
    tmp_path: Path, queued: bool, kind: str
) -> None:
    code = textwrap.dedent(POOLS.format(queued=queued, kind=kind))
    result = run_python(code, tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    records = read_jsonl(tmp_path / "app.jsonl")
    assert sorted(r["message"] for r in records if r["logger"] == "worker") == [
        f"{kind} {i}" for i in range(4)
    ]
