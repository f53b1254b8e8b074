"""Secrets never reach the disk or the screen: redaction by key name and by shape.

Key names are split into words (``X-Api-Key`` -> ``x api key``, ``awsSecretKey``
-> ``aws secret key``) and a key is secret when a word, or two or three
neighbouring words run together, is a secret word. So ``access_token`` and
``Authorization`` are redacted while ``num_tokens`` and ``max_tokens`` (counts
that RL logs are full of) are not. Decisions are cached per key name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from . import fields as F
from .fields import MAX_NESTING_DEPTH

REDACTED: Final = "[REDACTED]"

DEFAULT_SECRET_KEYS: Final = (
    "password", "passwd", "secret", "token", "api_key", "apikey", "authorization",
    "cookie", "credential", "private_key",
)  # fmt: skip
# Plurals and near-spellings of the words above that are still secrets.
_EXTRA_SECRET_WORDS: Final = (
    "passwords", "secrets", "cookies", "credentials", "pwd", "setcookie", "accesskey",
    "secretkey", "clientsecret", "privatekeys", "auth",
)  # fmt: skip

#: Credential shapes masked inside any string (message, values, tracebacks).
DEFAULT_SECRET_PATTERNS: Final = (
    # Authorization: Bearer <token>
    r"(?i:(?<=bearer ))[A-Za-z0-9\-._~+/]+=*",
    # OpenAI (sk-..., sk-proj-...) and Anthropic (sk-ant-api03-...) keys
    r"\bsk-[A-Za-z0-9_\-]{16,}",
    # AWS access key ids
    r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b",
    # PEM private keys, whole or cut short
    r"-----BEGIN[A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END[A-Z ]*PRIVATE KEY-----|\Z)",
    # Hugging Face, GitHub and Slack tokens
    r"\bhf_[A-Za-z0-9]{30,}",
    r"\bgh[pousr]_[A-Za-z0-9]{30,}",
    r"\bxox[abprs]-[A-Za-z0-9-]{10,}",
)  # fmt: skip

_URL_PASSWORD: Final = re.compile(r"(?P<head>://[^\s:/?#@]+:)(?P<secret>[^\s@/?#]+)(?=@)")
_WORD_SPLIT: Final = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
_MAX_CACHED_KEYS: Final = 4096


def _normalise(word: str) -> str:
    return re.sub(r"[^a-z0-9]", "", word.lower())


class Redactor:
    """Applies the key rules and the shape rules to a record document."""

    def __init__(self, keys: Iterable[str], patterns: Iterable[str | re.Pattern[str]]) -> None:
        self._secret_words = frozenset(_normalise(k) for k in keys) | frozenset(_EXTRA_SECRET_WORDS)
        compiled = [p if isinstance(p, re.Pattern) else re.compile(p) for p in patterns]
        self._patterns = tuple(compiled)
        self._key_cache: dict[str, bool] = {}

    @classmethod
    def default(
        cls,
        extra_keys: Iterable[str] = (),
        extra_patterns: Iterable[str | re.Pattern[str]] = (),
    ) -> Redactor:
        # The built-in shapes share one alternation: one scan of each string.
        builtin = "|".join(f"(?:{p})" for p in DEFAULT_SECRET_PATTERNS)
        return cls([*DEFAULT_SECRET_KEYS, *extra_keys], [builtin, *extra_patterns])

    # --- keys ---------------------------------------------------------------------

    def is_secret_key(self, key: str) -> bool:
        known = self._key_cache.get(key)
        if known is not None:
            return known
        words = [w.lower() for w in _WORD_SPLIT.split(key) if w]
        joined = {"".join(words[i : i + n]) for n in (1, 2, 3) for i in range(len(words))}
        secret = not joined.isdisjoint(self._secret_words)
        if len(self._key_cache) >= _MAX_CACHED_KEYS:
            self._key_cache.clear()
        self._key_cache[key] = secret
        return secret

    # --- strings ------------------------------------------------------------------

    def text(self, value: str) -> str:
        """``value`` with every known credential shape masked."""
        for pattern in self._patterns:
            value = pattern.sub(REDACTED, value)
        if "://" in value:
            value = _URL_PASSWORD.sub(rf"\g<head>{REDACTED}", value)
        return value

    def value(self, value: object, depth: int = 0, path: set[int] | None = None) -> object:
        """Mask secrets inside ``value``: secret keys in mappings, shapes in strings.

        Cycles and unreadable containers are returned as they are: the encoder
        writes its own placeholders for them.
        """
        if isinstance(value, str):
            return self.text(value)
        if not isinstance(value, Mapping | list | tuple) or depth > MAX_NESTING_DEPTH:
            return value
        path = set() if path is None else path
        ident = id(value)
        if ident in path:
            return value
        path.add(ident)
        try:
            if isinstance(value, Mapping):
                new: Any = self.mapping(value, depth + 1, path)
                same = all(new[k] is v for k, v in value.items())
            else:
                new = [self.value(v, depth + 1, path) for v in value]
                same = all(a is b for a, b in zip(new, value, strict=True))
            # Unchanged: hand back the original, so the encoder sees cycles as they are.
            return value if same else new
        except Exception:  # a mapping whose items() raises
            return value
        finally:
            path.discard(ident)

    def mapping(
        self, value: Mapping[Any, Any], depth: int = 0, path: set[int] | None = None
    ) -> dict[Any, Any]:
        return {
            k: REDACTED
            if isinstance(k, str) and self.is_secret_key(k)
            else self.value(v, depth, path)
            for k, v in list(value.items())
        }


def redact_document(redactor: Redactor, document: dict[str, Any]) -> dict[str, Any]:
    """Redact a record document: user fields by key and shape, free text by shape."""
    out: dict[str, Any] = {}
    for key, value in document.items():
        if key in F.RESERVED_KEYS:
            if key in (F.MESSAGE, F.STACK_INFO) and isinstance(value, str):
                out[key] = redactor.text(value)
            elif key == F.EXCEPTION and isinstance(value, Mapping):
                out[key] = {k: redactor.value(v) for k, v in value.items()}
            else:
                out[key] = value
        elif isinstance(key, str) and redactor.is_secret_key(key):
            out[key] = REDACTED
        else:
            out[key] = redactor.value(value)
    return out
