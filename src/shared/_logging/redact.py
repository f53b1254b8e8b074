"""Secrets never reach the disk or the screen: redaction by key name and by shape.

Key names are split into words (``X-Api-Key`` -> ``x api key``, ``awsSecretKey``
-> ``aws secret key``) and a key is secret when a word, or two or three
neighbouring words run together, is a secret word. So ``access_token`` and
``Authorization`` are redacted while ``num_tokens`` and ``max_tokens`` (counts
that RL logs are full of) are not. Decisions are cached per key name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

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

#: Credential shapes masked inside any string (message, values, tracebacks), each
#: behind literals one of which it must contain: a few ``in`` checks decide that a
#: string holds no secret far faster than any regex can (most strings hold none).
DEFAULT_SECRET_SHAPES: Final = (
    # Authorization: Bearer <token>
    (("earer", "EARER"), r"(?i:(?<=bearer ))[A-Za-z0-9\-._~+/]+=*"),
    # OpenAI (sk-..., sk-proj-...) and Anthropic (sk-ant-api03-...) keys
    (("sk-",), r"\bsk-[A-Za-z0-9_\-]{16,}"),
    # AWS access key ids
    (
        ("AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AROA"),
        r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b",
    ),
    # PEM private keys, whole or cut short
    (
        ("PRIVATE KEY",),
        r"-----BEGIN[A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END[A-Z ]*PRIVATE KEY-----|\Z)",
    ),
    # Hugging Face, GitHub and Slack tokens
    (("hf_",), r"\bhf_[A-Za-z0-9]{30,}"),
    (("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), r"\bgh[pousr]_[A-Za-z0-9]{30,}"),
    (("xox",), r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
)

#: The shortest string a built-in shape can match ("a://b:c@" or "Bearer x").
#: No built-in shape fits in fewer characters (the C gate reads it from here).
SHORTEST_SHAPE: Final = 8
#: What every URL with a password holds; a string without it has none.
URL_MARKER: Final = "://"
_URL_PASSWORD: Final = re.compile(r"(?P<head>://[^\s:/?#@]+:)(?P<secret>[^\s@/?#]+)(?=@)")
_WORD_SPLIT: Final = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
_MAX_CACHED_KEYS: Final = 4096


def _normalise(word: str) -> str:
    return re.sub(r"[^a-z0-9]", "", word.lower())


class Redactor:
    """Applies the key rules and the shape rules to record fields."""

    def __init__(
        self,
        keys: Iterable[str],
        patterns: Iterable[str | re.Pattern[str]],
        shapes: Iterable[tuple[tuple[str, ...], str]] = (),
    ) -> None:
        self._secret_words = frozenset(_normalise(k) for k in keys) | frozenset(_EXTRA_SECRET_WORDS)
        self._shapes = tuple((literals, re.compile(p)) for literals, p in shapes)
        # One pass over the string answers "could any shape be here?" for all of them.
        every_literal = sorted({re.escape(lit) for literals, _ in shapes for lit in literals})
        self._any_literal = re.compile("|".join(every_literal)) if every_literal else None
        compiled = [p if isinstance(p, re.Pattern) else re.compile(p) for p in patterns]
        self._patterns = tuple(compiled)
        self._key_cache: dict[str, bool] = {}

    @classmethod
    def default(
        cls,
        extra_keys: Iterable[str] = (),
        extra_patterns: Iterable[str | re.Pattern[str]] = (),
    ) -> Redactor:
        return cls([*DEFAULT_SECRET_KEYS, *extra_keys], extra_patterns, DEFAULT_SECRET_SHAPES)

    def fast_path_settings(
        self,
    ) -> tuple[dict[str, bool], tuple[str, ...], bool, Callable[[str], str]]:
        """What the C hot path needs to take the same decisions as :meth:`mapping`:
        the key cache (it redacts only keys judged here already), the shapes'
        literals (a string with none of them, nor "://", is left as it is) and
        :meth:`text` for the strings that pass that gate."""
        literals = tuple(literal for literals, _ in self._shapes for literal in literals)
        return self._key_cache, literals, bool(self._patterns), self.text

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
        if len(value) < SHORTEST_SHAPE and not self._patterns:
            return value  # too short for any built-in shape: the most common case
        if (
            len(value) >= SHORTEST_SHAPE  # no built-in shape fits in fewer characters
            and self._any_literal is not None
            and self._any_literal.search(value) is not None
        ):
            for literals, shape in self._shapes:
                for literal in literals:
                    if literal in value:
                        value = shape.sub(REDACTED, value)
                        break
        for pattern in self._patterns:
            # search first: most strings hold no secret, and search allocates nothing
            if pattern.search(value) is not None:
                value = pattern.sub(REDACTED, value)
        if len(value) >= SHORTEST_SHAPE and URL_MARKER in value:
            value = _URL_PASSWORD.sub(rf"\g<head>{REDACTED}", value)
        return value

    def value(  # noqa: PLR0911 - one early return per kind of value
        self, value: object, depth: int = 0, path: set[int] | None = None
    ) -> object:
        """Mask secrets inside ``value``: secret keys in mappings, shapes in strings.

        Cycles and unreadable containers are returned as they are: the encoder
        writes its own placeholders for them.
        """
        kind = type(value)
        if kind is str:
            return self.text(value)  # type: ignore[arg-type]
        if kind is int or kind is float or kind is bool or value is None:
            return value
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
        out: dict[Any, Any] = {}
        cache = self._key_cache
        for key, item in list(value.items()):
            secret = cache.get(key) if type(key) is str else False
            if secret is None:
                secret = self.is_secret_key(key)
            kind = type(item)
            if secret:
                out[key] = REDACTED
            elif kind is str:
                out[key] = self.text(item)
            elif kind is int or kind is float or kind is bool or item is None:
                out[key] = item
            else:
                out[key] = self.value(item, depth, path)
        return out
