"""Secrets never reach the disk or the screen: redaction by key name and by shape.

Key names are split into words (``X-Api-Key`` -> ``x api key``, ``awsSecretKey``
-> ``aws secret key``) and a key is secret when a word, or two or three
neighbouring words run together, is a secret word (``password``, ``apikey``,
``wandbkey``, ``databaseurl``...), unless another of its words says it holds
something about the secret rather than the secret (``auth_method``,
``private_key_path``) or, for ``token``, that it is a count, an id or a metric
of a language model (``eos_token_id``, ``mean_token_accuracy``). Decisions
are cached per key name.

Inside text (messages, string values, exceptions) the shapes of secret_shapes.py
are masked, and ``key=value`` pairs whose key is secret by the same rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from . import secret_shapes as S
from .fields import MAX_NESTING_DEPTH

REDACTED: Final = S.REDACTED
URL_MARKER: Final = S.URL_MARKER

DEFAULT_SECRET_KEYS: Final = (
    "password", "passwd", "secret", "token", "api_key", "apikey", "authorization",
    "cookie", "credential", "private_key",
)  # fmt: skip
#: What a key holds the secret of: ``<qualifier>key``, ``<qualifier>pat`` are secrets.
_QUALIFIERS: Final = (
    "api", "access", "secret", "private", "client", "signing", "encryption", "master",
    "license", "service", "account", "ssh", "gpg", "pgp", "aes", "hmac", "session",
    "auth", "deploy", "personal", "webhook", "admin",
    # providers research code talks to
    "wandb", "openai", "anthropic", "claude", "hf", "huggingface", "github", "gitlab",
    "aws", "gcp", "google", "gemini", "azure", "stripe", "slack", "groq", "xai",
    "cohere", "replicate", "pinecone", "langsmith", "langchain", "mistral", "together",
    "fireworks", "deepseek", "openrouter", "sentry", "databricks", "pypi", "npm",
    "perplexity", "voyage", "jina", "tavily", "serpapi", "serper", "elevenlabs",
    "deepgram", "assemblyai", "nvidia", "modal", "runpod", "bedrock", "comet", "neptune",
    "clearml", "mlflow", "weave", "kaggle", "dashscope", "qwen", "moonshot", "zhipu",
)  # fmt: skip
_DATABASES: Final = (
    "db", "database", "sqlalchemydatabase", "sqlalchemy", "mongo", "mongodb", "redis",
    "postgres", "postgresql", "pg", "mysql", "mariadb", "amqp", "rabbitmq", "broker",
    "celerybroker", "kafka", "elastic", "elasticsearch", "clickhouse", "neo4j",
    "supabase", "connection", "conn", "webhook", "slackwebhook", "discordwebhook",
)  # fmt: skip
# Plurals, near-spellings and compounds of the secret words that are still secrets.
_EXTRA_SECRET_WORDS: Final = (
    "passwords", "secrets", "cookies", "credentials", "pwd", "setcookie", "privatekeys",
    "auth", "passphrase", "jwt", "dsn", "signature", "sig", "serviceaccountjson",
    "serviceaccountkey", "serviceaccountinfo", "serviceaccountcredentials",
    "connectionstring", "connstr", "connstring", "csrftoken", "xsrftoken",
    *(f"{q}{what}" for q in _QUALIFIERS for what in ("key", "pat", "token")),
    *(f"{db}{what}" for db in _DATABASES for what in ("url", "uri", "dsn")),
    *(f"{who}pass" for who in ("db", "user", "admin", "root", "smtp", "mail", "email",
                                "redis", "mysql", "postgres", "ftp", "ldap", "sudo")),
)  # fmt: skip
#: A key with one of these words holds something about a secret, not the secret.
_ABOUT_WORDS: Final = frozenset(
    {"method", "type", "mode", "source", "provider", "enabled", "required", "status",
     "scheme", "kind", "endpoint", "domain", "host", "server", "flow", "backend",
     "plugin", "strategy", "error", "errors", "failed", "failure", "success", "ok",
     "attempts", "retries", "timeout", "latency", "version", "name", "names", "path",
     "file", "dir", "directory", "scope", "scopes", "realm", "expiry", "expires",
     "expiration", "ttl", "length", "len", "count", "env", "var", "variable",
     "policy", "present", "set", "is", "has", "use", "uses", "valid", "invalid",
     "rotated", "age", "prefix", "suffix", "hint", "field", "header", "param", "label"}
)  # fmt: skip
#: With "token", words that make the key a count, an id or a metric of a model.
_MODEL_WORDS: Final = frozenset(
    {"id", "ids", "count", "counts", "num", "number", "budget", "accuracy", "acc",
     "entropy", "logprob", "logprobs", "logps", "logp", "type", "types", "len",
     "length", "lengths", "level", "limit", "max", "min", "total", "usage", "rate",
     "position", "positions", "pos", "index", "indices", "idx", "embedding",
     "embeddings", "embed", "mask", "masks", "prob", "probs", "probability", "loss",
     "losses", "per", "mean", "avg", "average", "sum", "freq", "frequency", "vocab",
     "throughput", "speed", "latency", "generated", "prompt", "completion", "input",
     "output", "new", "reward", "rewards", "kl", "ratio", "weight", "weights", "score",
     "scores", "chunk", "window", "stride", "span", "offset", "offsets", "start", "end",
     "bos", "eos", "pad", "unk", "sep", "cls", "special", "added", "text", "str",
     "map", "list", "dict", "sample", "samples", "time", "step", "steps", "stats",
     "histogram", "distribution", "dist", "last", "first", "next", "target", "label",
     "labels", "value", "values", "norm", "grad", "logits", "attention",
     "image", "vision", "audio", "think", "thinking", "reasoning", "answer", "cache",
     "page", "continuation", "cursor", "pagination"}
)  # fmt: skip
#: Strong words that keep a "token" key secret whatever else it says.
_SECRET_TOKEN_WORDS: Final = frozenset(
    {"access", "refresh", "auth", "api", "bearer", "session", "csrf", "xsrf", "oauth",
     "hf", "github", "gitlab", "slack", "personal", "secret", "private", "bot", "app"}
)  # fmt: skip
_SIGNATURE_NOT_SECRET: Final = frozenset(
    {"model", "function", "func", "method", "schema", "input", "output", "call", "type"}
)  # fmt: skip
_PASSWORD_WORDS: Final = ("pass", "pwd", "passphrase")

#: The shortest string a built-in shape can match ("a://b:c@" or "pwd=abc1").
#: No built-in shape fits in fewer characters (the C gate reads it from here).
SHORTEST_SHAPE: Final = 8
#: A run this long of token characters may hold a prefixed or a bare token.
TOKEN_RUN: Final = 16
_WORD_SPLIT: Final = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_MAX_CACHED_KEYS: Final = 4096
_CACHED_TEXT_LENGTH: Final = 256
#: A key, a separator, a value: ``key=value``, ``"key": "value"``, ``--key=value``.
_KEY_VALUE: Final = re.compile(
    r"(?<![\w.\-])(?P<key>-{0,2}[A-Za-z][\w.\-]{0,60}?)[\"']?[ \t]*(?:=>|:=|=|:)[ \t]*"
    r"[\"']?(?P<s>[^\s\"',;&<>(){}\[\]]+)"
)
#: A secret word, a space, a value: ``secret Xk29...``, ``--api-key Xk29...``.
_WORD_VALUE: Final = re.compile(
    r"(?i)(?<![\w\-])(?P<key>--?[a-z][\w\-]{0,40}|secret|password|passwd|passphrase|"
    r"api[_ ]?key|token)[ \t]+(?P<s>[^\s\"',;&<>(){}\[\]]{8,})"
)


def _normalise(word: str) -> str:
    return re.sub(r"[^a-z0-9]", "", word.lower())


_TOKEN_RUN_PATTERN: Final = re.compile(rf"[A-Za-z0-9_+/.~\-]{{{TOKEN_RUN}}}")
# The runs the token rules scan: the gate's characters and "=" (base64 padding
# stays with its token).
_TOKEN_RUNS: Final = re.compile(rf"[A-Za-z0-9_+/.~=\-]{{{TOKEN_RUN},}}")
#: What the "secret <value>" rule needs in the lower-cased text.
_WORD_VALUE_LITERALS: Final = ("secret", "passw", "passphrase", "api", "--", "token ")
_native_gate: list[Callable[[str, tuple[str, ...]], bool]] = []


def use_native_gate(gate: Callable[[str, tuple[str, ...]], bool]) -> None:
    """The C extension's gate (speedups.py hands it over when it loads)."""
    _native_gate[:] = [gate]


def _python_gate(literals: tuple[str, ...]) -> Callable[[str], bool]:
    """Whether any rule could match: a literal in any case (a URL's "://" among
    them), or a run of token characters long enough for a prefixed or bare token."""
    words = re.compile("|".join(sorted(map(re.escape, literals), key=len, reverse=True)))

    def gate(value: str) -> bool:
        return bool(_TOKEN_RUN_PATTERN.search(value) or words.search(value.lower()))

    return gate


class Redactor:
    """Applies the key rules and the shape rules to record fields."""

    def __init__(
        self,
        keys: Iterable[str],
        patterns: Iterable[str | re.Pattern[str]],
        shapes: bool = False,
    ) -> None:
        own_words = frozenset(_normalise(k) for k in keys)
        self._secret_words = own_words | frozenset(_EXTRA_SECRET_WORDS)
        self._shapes = shapes
        # The gate's literals: the rules' own, and every secret word given here
        # (a key=value pair under any of them may hold a short secret).
        extra = own_words - frozenset(_normalise(k) for k in DEFAULT_SECRET_KEYS)
        self._literals = tuple(sorted({*S.GATE_LITERALS, *extra})) if shapes else ()
        self._python_gate = _python_gate(self._literals) if shapes else None
        compiled = [p if isinstance(p, re.Pattern) else re.compile(p) for p in patterns]
        self._patterns = tuple(compiled)
        self._key_cache: dict[str, bool] = {}
        self._text_cache: dict[str, str] = {}

    @classmethod
    def default(
        cls,
        extra_keys: Iterable[str] = (),
        extra_patterns: Iterable[str | re.Pattern[str]] = (),
    ) -> Redactor:
        return cls([*DEFAULT_SECRET_KEYS, *extra_keys], extra_patterns, shapes=True)

    def fast_path_settings(
        self,
    ) -> tuple[dict[str, bool], tuple[str, ...], bool, Callable[[str], str]]:
        """What the C hot path needs to take the same decisions as :meth:`mapping`:
        the key cache (it redacts only keys judged here already), the gate's
        literals (a string with none of them in any case, no "://" and no run of
        TOKEN_RUN token characters is left as it is) and :meth:`text` for the
        strings that pass that gate."""
        return self._key_cache, self._literals, bool(self._patterns), self.text

    # --- keys ---------------------------------------------------------------------

    def is_secret_key(self, key: str) -> bool:
        known = self._key_cache.get(key)
        if known is not None:
            return known
        secret = self._judge_key(key)
        if len(self._key_cache) >= _MAX_CACHED_KEYS:
            self._key_cache.clear()
        self._key_cache[key] = secret
        return secret

    def _judge_key(self, key: str) -> bool:
        words = [w.lower() for w in _WORD_SPLIT.split(key) if w]
        if words == ["pass"]:
            return True
        joined = {"".join(words[i : i + n]) for n in (1, 2, 3) for i in range(len(words))}
        if joined.isdisjoint(self._secret_words):
            return False
        present = set(words)
        if not present.isdisjoint(_ABOUT_WORDS):
            return False  # auth_method, private_key_path, password_length
        if "token" in present and not present.isdisjoint(_MODEL_WORDS):
            return not present.isdisjoint(_SECRET_TOKEN_WORDS)  # eos_token_id: a number
        # An MLflow model signature is a schema, not a secret.
        return "signature" not in present or present.isdisjoint(_SIGNATURE_NOT_SECRET)

    # --- strings ------------------------------------------------------------------

    def text(self, value: str) -> str:
        """``value`` with every known credential shape masked."""
        if len(value) < SHORTEST_SHAPE and not self._patterns:
            return value  # too short for any built-in shape: the most common case
        if len(value) >= SHORTEST_SHAPE and self._python_gate is not None:
            native = _native_gate[0] if _native_gate else None
            if native(value, self._literals) if native else self._python_gate(value):
                value = self._shapes_masked_cached(value)
        for pattern in self._patterns:
            # search first: most strings hold no secret, and search allocates nothing
            if pattern.search(value) is not None:
                value = pattern.sub(REDACTED, value)
        return value

    def _shapes_masked_cached(self, value: str) -> str:
        """Records repeat their values (ids, host and model names, a storm's
        message): the last few thousand short ones are remembered."""
        found = self._text_cache.get(value)
        if found is None:
            found = self._shapes_masked(value)
            if len(value) <= _CACHED_TEXT_LENGTH:
                if len(self._text_cache) >= _MAX_CACHED_KEYS:
                    self._text_cache.clear()
                self._text_cache[value] = found
        return found

    def _shapes_masked(self, value: str) -> str:
        # Prefixed and bare tokens live in runs of token characters: the big
        # regexes scan those runs only, not the prose around them.
        if len(value) >= TOKEN_RUN:
            value = _TOKEN_RUNS.sub(_masked_run, value)
        lowered = value.lower()
        for literals, rule, replace in S.STRUCTURES:
            for literal in literals:
                if literal in lowered:
                    value = rule.sub(replace, value)
                    break
        if "=" in value or ":" in value:
            for literal in self._literals:
                if literal in lowered:
                    value = _KEY_VALUE.sub(self._key_value, value)
                    break
        for literal in _WORD_VALUE_LITERALS:
            if literal in lowered:
                value = _WORD_VALUE.sub(self._word_value, value)
                break
        return value

    def _key_value(self, match: re.Match[str]) -> str:
        """``key=value`` in text: masked when the key is secret and the value is one
        (a password: anything but a placeholder; others: a random-looking value)."""
        key = match.group("key").lstrip("-")
        secret = match.group("s")
        if not self.is_secret_key(key) or secret.lower() in S.PLACEHOLDERS:
            return match.group(0)
        if URL_MARKER in secret or S.looks_random(secret, 8):
            return S.mask_group(match)
        if not any(word in key.lower() for word in _PASSWORD_WORDS):
            return match.group(0)
        # A password can be anything; after a colon, a plain word is prose
        # ("password: incorrect"), after "=" it is the value.
        plain_word = secret.isalpha() and secret.islower()
        return match.group(0) if plain_word and "=" not in match.group(0) else S.mask_group(match)

    def _word_value(self, match: re.Match[str]) -> str:
        """``secret <value>``, ``--api-key <value>``: masked when the value looks random."""
        key = match.group("key").lstrip("-")
        if not self.is_secret_key(key.replace(" ", "_")):
            return match.group(0)
        return S.mask_group(match) if S.looks_random(match.group("s"), 8) else match.group(0)

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


def _masked_run(run: re.Match[str]) -> str:
    text = S.PREFIXED.sub(S.judge_prefixed, run.group(0))
    return S.BARE.sub(S.judge_bare, text) if len(text) >= S.BARE_RUN else text
