"""The human console: terminal safety and layout."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from shared.logging_config import setup_logging

from .conftest import run_python

HOSTILE = {
    "clear screen": "\x1b[2J\x1b[H",
    "retitle": "\x1b]0;pwned\x07",
    "bell": "\x07",
    "bare CR overwrite": "ok\rFAKE LINE",
    "newline forgery": "done\n2026-01-01 00:00:00.000 CRITICAL root: forged",
    "C1 CSI": "\x9b31m",
    "backspace": "abc\x08\x08\x08",
    "DEL": "x\x7fy",
    "bidi override": "\u202eevil",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_control_characters_from_content_are_escaped(tmp_path: Path, name: str) -> None:
    """ESC, BEL, C0/C1 controls and bare CR from messages, extras, keys and tracebacks
    are shown escaped; our own colours still work."""
    payload = HOSTILE[name]
    result = run_python(
        f"""
        import logging
        from shared.logging_config import setup_logging
        setup_logging()
        payload = {payload!r}
        try:
            raise ValueError(payload)
        except ValueError:
            logging.getLogger("evil" + payload).exception(
                payload, extra={{"v": payload, "k" + payload: 1}}
            )
        """,
        tmp_path,
        env={"FORCE_COLOR": "1"},
        check=True,
    )
    err = result.stderr
    for char in set(payload):
        if (ord(char) < 0x20 and char != "\n") or 0x7F <= ord(char) < 0xA0 or char == "\u202e":
            # Raw control bytes from content never appear; ESC appears only in our SGR codes.
            if char == "\x1b":
                assert "\x1b]" not in err
                assert "\x1b[2J" not in err
                assert "\x1b[H" not in err
            else:
                assert char not in err, repr(char)
    # Every physical line is either a record line (starts with a date) or indented.
    for line in err.splitlines():
        assert line.startswith(("    ", "\x1b[2m2", "2")), repr(line)
    assert "\x1b[" in err  # our colours are unaffected


def test_traceback_keeps_its_lines_indented_under_the_record(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Tracebacks render as real indented lines below the record line."""
    setup_logging()
    try:
        raise KeyError("k")
    except KeyError:
        logging.getLogger("t").exception("failed")
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].endswith("ERROR    t: failed")
    assert lines[1] == "    Traceback (most recent call last):"
    assert lines[-1] == "    KeyError: 'k'"
