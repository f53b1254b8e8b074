"""``logview --triage``: the first failure, the cascade across ranks, JSON, and the
HTML report in a real browser (Debian's chromium, headless, through selenium).

The runs are seeded synthetic runs of 8, 64 and 512 ranks in both layouts
(tests/synthetic_runs.py): one shared torchrun file with rotation, one file
per Ray worker. Each has a known root cause that is not first in file order,
and handled ERRORs before it as decoys."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from shared.logview._triage import fair_shares

from .synthetic_runs import Expected, make_run

# Selenium must never look for a browser or driver to download: we name Debian's.
os.environ.setdefault("SE_OFFLINE", "true")
SCREENSHOTS = Path(
    os.environ.get("TRIAGE_SCREENSHOTS", "") or Path(__file__).parent / "screenshots"
)


def logview(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shared.logview", *args],
        capture_output=True, text=True, check=check, timeout=300,
    )  # fmt: skip


def triage_json(path: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(logview(str(path), "--triage", "--json").stdout)
    return result


RUNS = [(8, 11), (64, 12), (512, 13)]


@pytest.mark.parametrize("layout", ["torchrun", "ray"])
@pytest.mark.parametrize(("ranks", "seed"), RUNS, ids=[f"{r}-ranks" for r, _ in RUNS])
def test_triage_finds_the_root_cause_and_collapses_the_cascade(
    tmp_path: Path, layout: str, ranks: int, seed: int
) -> None:
    expected = make_run(tmp_path / "run", ranks, layout, seed=seed)
    found = triage_json(tmp_path / "run")
    assert found["records"] == expected.records
    assert found["processes"] == expected.processes
    failure = found["first_failure"]
    assert failure["process"] == expected.root_pid
    assert failure["hostname"] == expected.root_host
    assert failure["message"] == expected.root_message
    assert failure["level"] == "CRITICAL"
    assert "shape mismatch" in failure["exception"]["traceback"]
    assert [r["message"] for r in failure["before"]] == expected.before
    assert all(r["process"] == expected.root_pid for r in failure["before"])
    if layout == "torchrun":
        assert failure["rank"] == expected.root_rank
    else:
        assert failure["actor_name"] == f"Learner-{expected.root_rank}"
    kinds = found["kinds"]
    assert len(kinds) == expected.kinds
    firsts = [k["first"] for k in kinds]
    assert firsts == sorted(firsts)  # by first occurrence
    startup = [k for k in kinds if k["logger"] == "train.setup"]
    assert len(startup) == 20
    assert all(k["count"] == ranks and k["processes"] == ranks for k in startup)
    (timeouts,) = [k for k in kinds if k["exception_type"] == "TimeoutError"]
    assert timeouts["count"] == ranks - 1
    assert timeouts["level"] == "CRITICAL"
    if layout == "torchrun":
        assert timeouts["ranks"] == [r for r in range(ranks) if r != expected.root_rank]
        assert all(k["ranks"] == list(range(ranks)) for k in startup)
    else:
        assert all(k["ranks"] == [] for k in kinds)
    assert all(k["exception_type"] is None for k in startup)
    assert all(k["first"].endswith("+00:00") and "T" in k["first"] for k in kinds)
    assert all(k["last"] >= k["first"] for k in kinds)


def test_the_root_cause_is_not_first_in_file_order(tmp_path: Path) -> None:
    """The synthetic runs are hard on purpose: in the shared file a timeout that
    the root cause caused is written before the root cause's own line."""
    expected = make_run(tmp_path / "run", 64, "torchrun", seed=12)
    text = "".join(p.read_text() for p in expected.files)
    assert text.index("TimeoutError") < text.index("shape mismatch")


@pytest.mark.parametrize("layout", ["torchrun", "ray"])
def test_a_512_rank_run_fits_in_60_lines(tmp_path: Path, layout: str) -> None:
    expected = make_run(tmp_path / "run", 512, layout, seed=21)
    out = logview(str(tmp_path / "run"), "--triage").stdout
    lines = out.splitlines()
    assert len(lines) <= 60, out
    assert lines[0].startswith(f"run: {expected.records} records from 512 processes")
    assert "first failure:" in out
    assert "uncaught exception: RuntimeError" in out
    assert f"pid {expected.root_pid}" in out
    assert "shape mismatch" in out  # the whole traceback
    assert "before it, the last 5 records of that process:" in out
    assert out.count("entering attention block") == 1
    if layout == "torchrun":
        assert f"rank {expected.root_rank}" in out
        others = ",".join(
            p for p in (f"0-{expected.root_rank - 1}", f"{expected.root_rank + 1}-511") if p
        )
        assert others.replace("0-0", "0") in out
    else:
        assert f"actor Learner-{expected.root_rank}" in out


def test_an_empty_run_exits_0_and_says_no_records(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "app.jsonl").write_text("")
    result = logview(str(tmp_path / "run"), "--triage")
    assert result.returncode == 0
    assert "no records" in result.stderr
    result = logview(str(tmp_path / "run"), "--triage", "--json")
    assert json.loads(result.stdout) == {
        "records": 0, "processes": 0, "first_failure": None, "kinds": []
    }  # fmt: skip


def test_a_run_without_failure_still_lists_its_kinds(tmp_path: Path) -> None:
    path = tmp_path / "app.jsonl"
    lines = [
        {"timestamp": f"2026-01-01T00:00:0{i}.000000+00:00", "level": level, "logger": "a",
         "message": f"disk at {90 + i}%", "process": 1, "hostname": "h"}
        for i, level in enumerate(["INFO", "WARNING", "WARNING", "INFO"])
    ]  # fmt: skip
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    found = triage_json(path)
    assert found["first_failure"] is None
    assert found["records"] == 4
    assert found["processes"] == 1
    (kind,) = found["kinds"]
    assert (kind["template"], kind["count"], kind["ranks"]) == ("disk at <n>%", 2, [])
    text = logview(str(path), "--triage").stdout
    assert "first failure: none" in text


def test_torn_and_non_json_lines_and_other_loggers_json(tmp_path: Path) -> None:
    """A torn line, a non-JSON line, a gzip rotated file, structlog's and
    python-json-logger's records: read as logview reads them."""
    run = tmp_path / "run"
    run.mkdir()
    ours = {"timestamp": "2026-01-01T00:00:05.000000+00:00", "level": "ERROR", "logger": "ours",
            "message": "handled", "process": 5, "hostname": "h"}  # fmt: skip
    (run / "app.jsonl").write_text(
        json.dumps(ours) + "\n"
        + '{"timestamp":"2026-01-01T00:00:06.0000\n'  # torn by a kill -9
        + "Traceback (most recent call last): not json\n"
        + json.dumps(dict(ours, message="later", timestamp="2026-01-01T00:00:07.000000+00:00"))
        + "\n"
    )  # fmt: skip
    with gzip.open(run / "app.jsonl.1.gz", "wt") as old:
        old.write(
            json.dumps(
                dict(
                    ours,
                    message="oldest warning",
                    level="WARNING",
                    timestamp="2026-01-01T00:00:01.000000+00:00",
                )
            )
            + "\n"
        )
    structlog_line = {
        "timestamp": "2026-01-01T00:00:03.000000Z",
        "level": "critical",
        "logger": "svc",
        "event": "structlog crashed",
        "exception": "Traceback...",
    }
    pjl_line = {
        "asctime": "2026-01-01 00:00:04,000",
        "levelname": "ERROR",
        "name": "pjl",
        "message": "pjl failed",
        "exc_info": "Traceback (most recent call last): x",
    }
    (run / "other.jsonl").write_text(
        json.dumps(structlog_line) + "\n" + json.dumps(pjl_line) + "\n"
    )
    result = logview(str(run), "--triage", "--json")
    found = json.loads(result.stdout)
    assert found["records"] == 5
    failure = found["first_failure"]
    assert failure["event"] == "structlog crashed"
    assert failure["level"] == "CRITICAL"  # upper case
    kinds = {(k["level"], k["logger"]) for k in found["kinds"]}
    assert kinds >= {("WARNING", "ours"), ("ERROR", "ours"), ("CRITICAL", "svc"), ("ERROR", "pjl")}
    assert "skipped 2 lines" in result.stderr


def test_triage_of_a_gz_of_newlines_is_cheap(tmp_path: Path) -> None:
    path = tmp_path / "bomb.jsonl.gz"
    with gzip.open(path, "wb", compresslevel=1) as out:
        for _ in range(16):
            out.write(b"\n" * (1 << 20))
    result = logview(str(path), "--triage", "--json")
    assert json.loads(result.stdout)["records"] == 0


def test_triage_escapes_what_the_file_says(tmp_path: Path) -> None:
    evil = "\x1b[2J\x1b]0;owned\x07"
    path = tmp_path / "app.jsonl"
    record = {
        "timestamp": "2026-01-01T00:00:00.000000+00:00",
        "level": "CRITICAL",
        "logger": "x" + evil,
        "message": "m" + evil,
        "process": 1,
        "hostname": "h" + evil,
        "exception": {"type": "E", "message": "", "traceback": "Traceback\n" + evil},
    }
    path.write_text(json.dumps(record) + "\n")
    out = logview(str(path), "--triage").stdout
    assert "\x1b" not in out
    assert "\x07" not in out


# --- the HTML report -----------------------------------------------------------------------


def _browser() -> Any:
    """A headless Debian chromium through selenium, or a skip that says why."""
    try:
        from selenium import webdriver  # noqa: PLC0415 - optional: skip without it
        from selenium.webdriver.chrome.service import Service  # noqa: PLC0415
    except ImportError:
        pytest.skip("selenium is not installed (scripts/test installs it)")
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or (
        "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None
    )
    if binary is None or driver is None:
        pytest.skip(
            "Debian's chromium and chromium-driver are not installed "
            "(scripts/test installs them with apt-get when it runs as root)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1400,1100"):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=options)


def _open_report(report: Path, screenshot: str) -> dict[str, Any]:
    browser = _browser()
    try:
        started = time.monotonic()
        browser.get(report.resolve().as_uri())
        ready = browser.execute_script("return document.body.getAttribute('data-ready') === '1'")
        seconds = time.monotonic() - started
        shown = {
            "ready": ready,
            "seconds": seconds,
            "failure": browser.find_element("id", "failure-body").text,
            "kinds_rows": len(browser.find_elements("css selector", "#kinds tbody tr")),
            "title": browser.find_element("id", "title").text,
            "timeline_height": browser.execute_script(
                "return document.getElementById('timeline').height"
            ),
        }
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(SCREENSHOTS / screenshot))  # as it opens
        search = browser.find_element("id", "search")
        search.send_keys("TimeoutError")
        shown["search_note"] = browser.find_element("id", "search-note").text
        browser.save_screenshot(str(SCREENSHOTS / screenshot.replace(".png", "-search.png")))
        search.clear()
        search.send_keys("entering attention block")  # the failing rank's INFO record
        shown["info_note"] = browser.find_element("id", "search-note").text
        shown["console"] = [
            entry for entry in browser.get_log("browser") if entry.get("level") == "SEVERE"
        ]
        requests = []
        for entry in browser.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.requestWillBeSent":
                requests.append(message["params"]["request"]["url"])
        shown["requests"] = requests
        return shown
    finally:
        browser.quit()


def test_the_html_report_of_a_64_rank_run_in_a_real_browser(tmp_path: Path) -> None:
    expected: Expected = make_run(tmp_path / "run", 64, "torchrun", seed=12)
    report = tmp_path / "report.html"
    logview(str(tmp_path / "run"), "--triage", "--html", str(report))
    html = report.read_text()
    assert "<link" not in html
    assert "src=" not in html.replace('src="data:', "")
    assert "http://" not in html
    assert "https://" not in html
    shown = _open_report(report, "triage-64-ranks.png")
    assert shown["ready"] is True
    assert "uncaught exception: RuntimeError" in shown["failure"]
    assert "shape mismatch" in shown["failure"]
    assert f"pid {expected.root_pid}" in shown["failure"]
    assert shown["kinds_rows"] == expected.kinds
    assert shown["timeline_height"] > 0
    assert shown["seconds"] < 2.0  # the first failure and kinds are there when it loads
    assert "63 matching" in shown["search_note"]
    # 1,796 records fit the search box: INFO records are searchable too.
    assert shown["info_note"].startswith("1 matching record (every record of the run)")
    assert shown["console"] == []
    assert [u for u in shown["requests"] if not u.startswith("file://")] == []


def test_the_html_report_of_a_512_rank_run_with_a_storm_stays_small(tmp_path: Path) -> None:
    """512 processes, 200,000 WARNING-and-above records: aggregated, under 10 MB,
    and usable in the browser."""
    run = tmp_path / "run"
    expected = make_run(run, 512, "torchrun", seed=31)
    storm = {"level": "ERROR", "logger": "rollouts", "message": "grader timed out",
             "process": 0, "hostname": "node00", "rank": 0}  # fmt: skip
    with (run / "storm.jsonl").open("w") as out:
        for i in range(200_000):
            rank = i % 512
            doc = dict(storm, process=20_000 + rank, rank=rank,
                       timestamp=f"2026-09-21T14:2{i // 100_000}:{(i // 2000) % 50 + 10:02d}."
                                 f"{i % 1000:03d}000+00:00")  # fmt: skip
            out.write(json.dumps(doc) + "\n")
    report = tmp_path / "report.html"
    logview(str(run), "--triage", "--html", str(report))
    assert report.stat().st_size < 10_000_000
    shown = _open_report(report, "triage-512-ranks-storm.png")
    assert shown["ready"] is True
    assert "uncaught exception: RuntimeError" in shown["failure"]
    assert shown["kinds_rows"] == expected.kinds + 1
    # The storm's 200,000 records would fill the room alone, yet the timeouts are
    # searchable: the 10,000 rows are shared among the 25 kinds (about 450 each).
    matching = int(shown["search_note"].split(" ", 1)[0])
    assert 400 <= matching <= 511
    assert shown["info_note"].startswith("0 matching WARNING-or-above records")
    assert shown["console"] == []
    assert [u for u in shown["requests"] if not u.startswith("file://")] == []


@pytest.mark.parametrize(
    ("sizes", "room", "shares"),
    [
        ([200_000, 511, 512, 1], 10_000, [8976, 511, 512, 1]),
        ([5, 5], 100, [5, 5]),
        ([50, 50, 50], 100, [33, 33, 34]),
        ([], 100, []),
    ],
)
def test_fair_shares_take_small_kinds_whole(sizes: list[int], room: int, shares: list[int]) -> None:
    assert fair_shares(sizes, room) == shares
    assert sum(shares) <= room


_OTHER_WRITERS = r"""
import json, logging, sys
from pathlib import Path

import structlog
from loguru import logger as loguru_logger
from pythonjsonlogger.json import JsonFormatter

run = Path(sys.argv[1])

class TornDown(Exception):
    pass

# structlog: JSON lines with the traceback as one string under "exception".
with open(run / "structlog.jsonl", "w") as out:
    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.processors.TimeStamper("iso"),
                    structlog.processors.format_exc_info, structlog.processors.JSONRenderer()],
        logger_factory=structlog.WriteLoggerFactory(out),
    )
    log = structlog.get_logger()
    for request in ("a1b2c3d4", "ff00ee11", "0x1f", "0x2a"):
        log.warning(f"request {request} retried")
    try:
        raise KeyError("shard")
    except KeyError:
        log.exception("loader failed")

# python-json-logger: the traceback under "exc_info".
handler = logging.FileHandler(run / "pjl.jsonl")
handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
std = logging.getLogger("pjl")
std.addHandler(handler)
std.propagate = False
try:
    raise TornDown("peer gone")
except TornDown:
    std.exception("collective failed")
handler.close()

# loguru, serialize=True: the type under record.exception.type.
loguru_logger.remove()
loguru_logger.add(run / "loguru.jsonl", serialize=True)
try:
    raise ZeroDivisionError("step")
except ZeroDivisionError:
    loguru_logger.exception("step failed")
"""


def test_kinds_of_other_writers_name_their_exception_and_collapse_hex_ids(tmp_path: Path) -> None:
    """Real structlog, python-json-logger and loguru files: each exception kind is
    named from what that writer keeps (a traceback string, or loguru's type), and
    request ids, short or 0x, are masked so their warnings are one kind."""
    run = tmp_path / "run"
    run.mkdir()
    script = tmp_path / "writers.py"
    script.write_text(_OTHER_WRITERS)
    subprocess.run([sys.executable, str(script), str(run)], check=True, timeout=120)
    found = triage_json(run)
    assert found["records"] == 7
    kinds = {(k["level"], k["template"]): k for k in found["kinds"]}
    assert kinds["WARNING", "request <hex> retried"]["count"] == 4
    types = {k["exception_type"] for k in found["kinds"] if k["level"] == "ERROR"}
    assert types == {"KeyError", "TornDown", "ZeroDivisionError"}


def test_a_torn_line_with_its_pid_is_not_counted_as_a_record(tmp_path: Path) -> None:
    """kill -9 tears a line after its "process" key; the next writer closes it
    with a newline (files.py). Every line then holds a pid, but the torn one is
    no JSON object and must not count as a record."""
    doc = {"timestamp": "2026-01-01T00:00:01.000000+00:00", "level": "INFO", "logger": "x",
           "message": "step", "process": 5, "hostname": "h"}  # fmt: skip
    whole = json.dumps(doc, separators=(",", ":"))
    torn = whole[: whole.index('"hostname"')]  # ends in '"process":5,'
    path = tmp_path / "app.jsonl"
    path.write_text("\n".join([whole, torn, whole, whole]) + "\n")
    result = logview(str(path), "--triage", "--json")
    assert json.loads(result.stdout)["records"] == 3
    assert "skipped 1 line" in result.stderr


@pytest.mark.parametrize("rotated", [False, True], ids=["one-file", "rotated"])
def test_the_records_before_a_failure_are_found_megabytes_back(
    tmp_path: Path, rotated: bool
) -> None:
    """The failing rank was quiet while the 511 others wrote megabytes: its last
    five records are far behind its failure (and, rotated, in an older file)."""
    run = tmp_path / "run"
    run.mkdir()

    def doc(rank: int, second: float, level: str, message: str) -> str:
        return json.dumps({
            "timestamp": f"2026-01-01T00:{int(second) // 60:02d}:{second % 60:09.6f}+00:00",
            "level": level, "logger": "train", "message": message,
            "process": 1000 + rank, "hostname": "node", "rank": rank,
        })  # fmt: skip

    early = [doc(7, i, "INFO", f"rank 7 step {i}") for i in range(8)]
    noise = [doc(100 + i % 400, 10 + i / 10_000, "INFO", "x" * 150) for i in range(40_000)]
    failure = [doc(7, 20, "CRITICAL", "rank 7 died")]
    if rotated:
        (run / "app.jsonl.1").write_text("\n".join(early + noise[:20_000]) + "\n")
        (run / "app.jsonl").write_text("\n".join(noise[20_000:] + failure) + "\n")
    else:
        (run / "app.jsonl").write_text("\n".join(early + noise + failure) + "\n")
    assert sum(p.stat().st_size for p in run.iterdir()) > 6 << 20
    found = triage_json(run)
    assert found["first_failure"]["message"] == "rank 7 died"
    before = [r["message"] for r in found["first_failure"]["before"]]
    assert before == [f"rank 7 step {i}" for i in range(3, 8)]


@pytest.mark.parametrize("layout", ["torchrun", "ray"])
def test_json_dumps_spacing_triages_the_same(tmp_path: Path, layout: str) -> None:
    """Another writer's lines with json.dumps's default ", " and ": " hold the same
    records: the triage (processes, the records before the failure) is the same."""
    compact = make_run(tmp_path / "compact", 64, layout, seed=5)
    make_run(tmp_path / "spaced", 64, layout, seed=5, separators=(", ", ": "))
    found = triage_json(tmp_path / "spaced")
    assert found == triage_json(tmp_path / "compact")
    assert found["processes"] == compact.processes
    assert [r["message"] for r in found["first_failure"]["before"]] == compact.before


def test_rank_ranges_are_whole_or_cut_with_a_count(tmp_path: Path) -> None:
    """Ranks as strings (from the RANK variable as it is) count as ranks; two
    missing ranks still show whole; scattered ones are cut with a count."""
    path = tmp_path / "app.jsonl"
    lines = []
    for rank in range(512):
        doc = {"timestamp": "2026-01-01T00:00:01.000000+00:00", "level": "WARNING",
               "logger": "x", "message": "slow", "process": 100 + rank, "hostname": "h",
               "rank": str(rank)}  # fmt: skip
        if rank not in (37, 101):
            lines.append(json.dumps(doc))
        if rank % 2 == 0:
            lines.append(json.dumps(dict(doc, message="odd one", rank=rank)))
    path.write_text("\n".join(lines) + "\n")
    found = triage_json(path)
    slow = next(k for k in found["kinds"] if k["template"] == "slow")
    assert slow["ranks"] == [r for r in range(512) if r not in (37, 101)]
    text = logview(str(path), "--triage").stdout
    assert " 0-36,38-100,102-511 " in text
    assert "… (+" in next(line for line in text.splitlines() if "odd one" in line)


@pytest.mark.parametrize(
    "option", [["--since", "1h"], ["--level", "ERROR"], ["-n", "0"], ["--follow"], ["--stats"]]
)
def test_options_that_select_records_are_refused_with_triage(
    tmp_path: Path, option: list[str]
) -> None:
    """The triage is of the whole run: a filter would change its first failure,
    so it is refused by name, not silently ignored."""
    path = tmp_path / "app.jsonl"
    path.write_text("")
    result = logview(str(path), "--triage", *option, check=False)
    assert result.returncode == 2
    assert f"{option[0]} cannot be combined with --triage" in result.stderr
    assert result.stdout == ""


def test_a_long_traceback_keeps_its_head_and_its_error_in_text_and_all_in_json(
    tmp_path: Path,
) -> None:
    frames = [f'  File "/app/deep.py", line {n}, in recurse\n    return recurse(n - 1)'
              for n in range(40)]  # fmt: skip
    traceback = "Traceback (most recent call last):\n" + "\n".join(frames)
    traceback += "\nRecursionError: maximum recursion depth exceeded"
    doc = {"timestamp": "2026-01-01T00:00:01.000000+00:00", "level": "CRITICAL",
           "logger": "uncaught", "message": "uncaught exception: RecursionError",
           "process": 5, "hostname": "h",
           "exception": {"type": "RecursionError", "message": "maximum recursion depth exceeded",
                         "traceback": traceback}}  # fmt: skip
    path = tmp_path / "app.jsonl"
    path.write_text(json.dumps(doc) + "\n")
    out = logview(str(path), "--triage").stdout
    assert len(out.splitlines()) < 35
    assert "  Traceback (most recent call last):" in out
    assert "  RecursionError: maximum recursion depth exceeded" in out
    assert "lines (--triage --json has them all)" in out
    found = triage_json(path)
    assert found["first_failure"]["exception"]["traceback"] == traceback
