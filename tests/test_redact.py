"""Secrets never reach the disk or the screen."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from shared.logging_config import setup_logging, shutdown_logging
from shared.logging_context import log_context

from .conftest import read_jsonl

SECRETS = {
    "bearer": ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "eyJhbGciOiJIUzI1NiJ9"),
    "openai": ("key=sk-proj-AbCdEfGhIjKlMnOpQrStUv0123", "sk-proj-AbCdEfGhIjKlMnOpQrStUv0123"),
    "anthropic": (
        "using sk-ant-api03-AbCdEfGhIjKlMnOpQrSt-xyz",
        "sk-ant-api03-AbCdEfGhIjKlMnOpQrSt",
    ),
    "aws": ("aws id AKIAIOSFODNN7EXAMPLE here", "AKIAIOSFODNN7EXAMPLE"),
    "pem": (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7secretbody\n"
        "-----END RSA PRIVATE KEY-----",
        "MIIEpAIBAAKCAQEA7secretbody",
    ),
    "url": ("connect to postgres://bob:hunter2pass@db:5432/x", "hunter2pass"),
}


def _both(tmp_path: Path, capsys: pytest.CaptureFixture[str], **kwargs: object) -> tuple[str, str]:
    """Return (file text, console text) after logging was shut down."""
    shutdown_logging()
    return (tmp_path / "a.jsonl").read_text(), capsys.readouterr().err


@pytest.mark.parametrize("kind", sorted(SECRETS))
@pytest.mark.parametrize("queued", [False, True])
def test_credential_shapes_are_masked_in_file_and_console(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, queued: bool
) -> None:
    """Each credential shape is masked in messages and string values, file and console."""
    text, secret = SECRETS[kind]
    setup_logging(log_file=tmp_path / "a.jsonl", console_level="DEBUG", use_queue_handler=queued)
    logging.getLogger("s").info("msg: %s", text, extra={"note": text, "nested": {"n": [text]}})
    file_text, console = _both(tmp_path, capsys)
    assert secret not in file_text
    assert secret not in console
    assert "[REDACTED]" in file_text
    assert "[REDACTED]" in console
    (record,) = read_jsonl(tmp_path / "a.jsonl")
    assert "[REDACTED]" in record["message"]
    assert "[REDACTED]" in record["nested"]["n"][0]


@pytest.mark.parametrize(
    "key",
    ["password", "db_passwd", "client_secret", "access_token", "api_key", "apiKey",
     "Authorization", "cookie", "credentials", "private_key", "X-Api-Key"],
)  # fmt: skip
def test_secret_keys_are_redacted_in_extras_context_and_nested_dicts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str
) -> None:
    """Values under secret-looking keys become [REDACTED], wherever the key is."""
    setup_logging(log_file=tmp_path / "a.jsonl")
    with log_context(**{key: "ctx-value-1"}):
        logging.getLogger("s").warning(
            "m", extra={key: "extra-value-2", "headers": {key: "nested-value-3"}}
        )
    file_text, console = _both(tmp_path, capsys)
    for value in ("ctx-value-1", "extra-value-2", "nested-value-3"):
        assert value not in file_text
        assert value not in console
    (record,) = read_jsonl(tmp_path / "a.jsonl")
    assert record[key] == "[REDACTED]"
    assert record["headers"][key] == "[REDACTED]"


def test_counts_named_like_tokens_are_not_redacted(tmp_path: Path) -> None:
    """num_tokens, max_tokens and tokenizer are research data, not secrets."""
    setup_logging(log_file=tmp_path / "a.jsonl", console=False)
    logging.getLogger("s").info(
        "m", extra={"num_tokens": 512, "max_tokens": 1024, "tokenizer": "gpt2", "author": "me"}
    )
    shutdown_logging()
    (record,) = read_jsonl(tmp_path / "a.jsonl")
    assert (record["num_tokens"], record["max_tokens"], record["tokenizer"]) == (512, 1024, "gpt2")
    assert record["author"] == "me"


def test_exception_text_is_redacted(tmp_path: Path) -> None:
    """A secret inside an exception message and its traceback is masked."""
    setup_logging(log_file=tmp_path / "a.jsonl", console=False)
    try:
        raise ConnectionError("auth failed for Bearer abcdef0123456789token")
    except ConnectionError:
        logging.getLogger("s").exception("request failed")
    shutdown_logging()
    text = (tmp_path / "a.jsonl").read_text()
    assert "abcdef0123456789token" not in text
    (record,) = read_jsonl(tmp_path / "a.jsonl")
    assert "[REDACTED]" in record["exception"]["message"]


def test_custom_keys_and_patterns(tmp_path: Path) -> None:
    """redact_keys and redact_patterns extend the rules."""
    setup_logging(
        log_file=tmp_path / "a.jsonl",
        console=False,
        redact_keys=["ssn"],
        redact_patterns=[r"EMP-\d{6}", re.compile(r"(?i)internal-[a-z]+")],
    )
    logging.getLogger("s").info("ids EMP-123456 and INTERNAL-thing", extra={"ssn": "123-45"})
    shutdown_logging()
    (record,) = read_jsonl(tmp_path / "a.jsonl")
    assert record["message"] == "ids [REDACTED] and [REDACTED]"
    assert record["ssn"] == "[REDACTED]"


def test_redact_false_writes_values_as_they_are(tmp_path: Path) -> None:
    """redact=False turns every rule off."""
    setup_logging(log_file=tmp_path / "a.jsonl", console=False, redact=False)
    logging.getLogger("s").info("Bearer abc.def", extra={"password": "pw"})
    shutdown_logging()
    (record,) = read_jsonl(tmp_path / "a.jsonl")
    assert (record["message"], record["password"]) == ("Bearer abc.def", "pw")


def test_console_only_redacts_context_and_extras(capsys: pytest.CaptureFixture[str]) -> None:
    """The console-only path reads the context on the caller's thread: still redacted."""
    setup_logging()
    with log_context(api_key="ctx-secret-1", run="r7"):
        logging.getLogger("s").warning("m", extra={"password": "extra-secret-2"})
    err = capsys.readouterr().err
    assert "ctx-secret-1" not in err
    assert "extra-secret-2" not in err
    assert "api_key=[REDACTED]" in err
    assert "run=r7" in err
