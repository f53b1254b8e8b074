"""What secrets look like inside text: token formats, context rules, entropy.

Facts about token formats come from the providers' documentation and the
public rule sets of gitleaks and trufflehog; the patterns are our own. Each
rule masks the secret only, never the text around it.

Three kinds of rule, cheapest first:

* **prefixed tokens** (``hf_``, ``ghp_``, ``AKIA``, ``gsk_``...): one regex of
  alternatives, the whole match is the secret;
* **structures** (PEM and PGP blocks, JWTs, ``Bearer``/``Basic``, URL
  credentials, ``curl -u``, ``key=value`` pairs under a secret-looking key):
  each behind the literals it needs;
* **bare random tokens**: 32 or more letters and digits in one run that look
  random (mixed classes, high entropy, not hex, not base64 of text), for the
  many provider keys that have no prefix.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections import Counter
from collections.abc import Callable
from typing import Final

REDACTED: Final = "[REDACTED]"

# --- prefixed tokens: the whole match is the secret ---------------------------------------

_PREFIXED_TOKENS: Final = (
    # OpenAI, Anthropic, DeepSeek, OpenRouter: sk-, sk-proj-, sk-ant-api03-, sk-or-v1-
    r"\bsk-[A-Za-z0-9_\-]{16,}",
    # Stripe secret, restricted and webhook keys
    r"\b(?:sk|rk)_(?:test|live|prod)_[A-Za-z0-9]{10,}",
    r"\bwhsec_[A-Za-z0-9+/=]{20,}",
    # AWS access key ids (checked against DNA in _judge_prefixed) and Bedrock API keys
    r"\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|APKA)[A-Z2-7]{16}\b",
    r"\bABSK[A-Za-z0-9+/]{40,}={0,2}",
    r"\bbedrock-api-key-[A-Za-z0-9+/=]{20,}",
    # Google / Gemini API keys
    r"\bAIza[\w\-]{35}",
    # LLM providers
    r"\bgsk_[A-Za-z0-9]{40,}",  # Groq
    r"\bxai-[A-Za-z0-9]{40,}",  # xAI
    r"\br8_[A-Za-z0-9]{30,}",  # Replicate
    r"\blsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}",  # LangSmith
    r"\bpcsk_[A-Za-z0-9]{4,8}_[A-Za-z0-9]{40,}",  # Pinecone
    r"\bpplx-[A-Za-z0-9]{40,}",  # Perplexity
    r"\bnvapi-[A-Za-z0-9_\-]{40,}",  # NVIDIA
    r"\bfw_[A-Za-z0-9]{20,}",  # Fireworks
    # Hugging Face user and organisation tokens
    r"\bhf_[A-Za-z0-9]{30,}",
    r"\bapi_org_[A-Za-z0-9]{30,}",
    # GitHub, GitLab
    r"\bgh[pousr]_[A-Za-z0-9]{30,}",
    r"\bgithub_pat_[A-Za-z0-9_]{60,}",
    r"\bgl(?:pat|dt|rt|ptt|cbt|imt|agent|oas|soat|ffct|ft)-[A-Za-z0-9_\-.]{20,}",
    r"\bGR1348941[\w\-]{20,}",
    # Slack tokens and app tokens
    r"\bxox[abeoprs]-[A-Za-z0-9\-]{10,}",
    r"\bxapp-\d-[A-Za-z0-9\-]{10,}",
    # Sentry, Databricks, PyPI, npm, Grafana
    r"\bsntry[su]_[A-Za-z0-9+/=_]{40,}",
    r"\bdapi[a-f0-9]{32}(?:-\d)?",
    r"\bpypi-AgE[\w\-]{40,}",
    r"\bnpm_[A-Za-z0-9]{36}",
    r"\bgl(?:sa|c)_[A-Za-z0-9+/_]{32,}",
    # DigitalOcean, SendGrid, Shopify, Linear, Notion, Vault, Postman, Doppler, Twilio
    r"\bdo[opr]_v1_[a-f0-9]{64}",
    r"\bSG\.[\w\-]{20,}\.[\w\-]{20,}",
    r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}",
    r"\blin_api_[A-Za-z0-9]{40}",
    r"\bntn_[0-9]{11}[A-Za-z0-9]{35}",
    r"\bhv[sb]\.[\w\-]{90,}",
    r"\bPMAK-[a-f0-9]{24}-[a-f0-9]{34}",
    r"\bdp\.pt\.[A-Za-z0-9]{40,}",
    r"\bSK[0-9a-fA-F]{32}\b",
    # The long tail with distinctive prefixes (gitleaks' rule set)
    r"\bLTAI[A-Za-z0-9]{20}\b",  # Alibaba
    r"\bAGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}",  # age
    r"\bA3-[A-Z0-9]{6}-[A-Z0-9\-]{11,12}-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}\b",  # 1Password
    r"\bops_eyJ[A-Za-z0-9+/]{100,}={0,3}",  # 1Password service accounts
    r"\bAKCp[A-Za-z0-9]{60,}",  # Artifactory
    r"\bEAA[MC][A-Za-z0-9]{60,}",  # Facebook
    r"\bxkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}",  # Brevo
    r"\bsgp_[A-Za-z0-9_]{40,}",  # Sourcegraph
    r"\b(?:sq0atp-|sq0csp-|EAAA)[\w\-]{22,}",  # Square
    r"\bEZ[AT]K[A-Za-z0-9]{54}",  # EasyPost
    r"\bFLW(?:SECK|PUBK)_TEST-[A-Za-z0-9]{12,}(?:-X)?",  # Flutterwave
    r"\bfio-u-[\w\-=]{64}",  # Frame.io
    r"\bHRKU-AA[\w\-]{58}",  # Heroku
    r"\bpscale_(?:tkn|oauth|pw)_[\w=.\-]{32,}",  # PlanetScale
    r"\b(?:pnu|rdme|rubygems|ico|pul|duffel_(?:test|live)|shippo_(?:test|live))[_-][A-Za-z0-9_\-=]{32,}",
    r"\btk-us-[\w\-]{48}",  # Scalingo
    r"\bdt0c01\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}",  # Dynatrace
    r"\bsm_(?:aat|pat|sat)_[A-Za-z0-9]{16}",  # SettleMint
    r"\bsha256~[\w\-]{43}",  # OpenShift
    r"\bv1\.0-[a-f0-9]{24}-[a-f0-9]{146}",  # Cloudflare origin CA
    r"\bCLOJARS_[A-Za-z0-9]{60}",
    r"\beyJrIjoi[A-Za-z0-9]{70,}={0,3}",  # Grafana API keys (base64 of JSON)
    r"\bdnkey-[\w=\-]{26}-[\w=\-]{52}",  # Defined Networking
    r"\bNR(?:AK|II|JS)-[A-Za-z0-9\-]{19,32}",  # New Relic
    r"\bAPI-[A-Z0-9]{26}\b",  # Octopus Deploy
    r"\bs-s4t2(?:ud|af)-[a-f0-9]{64}",  # 42 intra
    r"\b(?:hvb\.|s\.)[\w\-]{24,}(?=[\s\"'`;]|$)",  # Vault batch and legacy tokens
    r"\bglsoat-[\w\-]{20}",
)
# One boundary outside the alternatives, and every alternative starting with a
# literal: the regex engine then skips, per position, every alternative whose
# first character is not there (50 times faster on a 56-character id than a
# boundary inside each alternative).
PREFIXED: Final = re.compile(
    r"\b(?:" + "|".join(f"(?:{p.removeprefix(chr(92) + 'b')})" for p in _PREFIXED_TOKENS) + ")"
)
_AWS_ID: Final = re.compile(r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|APKA)")
_DNA: Final = frozenset("ACGTN")


def judge_prefixed(match: re.Match[str]) -> str:
    found = match.group(0)
    if _AWS_ID.match(found) and len(found) == 20 and set(found[4:]) <= _DNA:
        return found  # a DNA 20-mer that starts like a key id (ACCA...)
    return REDACTED


# --- entropy --------------------------------------------------------------------------------


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(text)
    total = len(text)
    return -sum(n / total * math.log2(n / total) for n in counts.values())


def looks_random(value: str, minimum: int = 12) -> bool:
    """A value that reads like a key: long enough, not a word, not a number, with
    the entropy of random characters (hex too: a hex value after ``key=`` is one)."""
    core = value.strip("=")
    if len(core) < minimum or core.isdigit() or (core.isalpha() and core.islower()):
        return False
    classes = sum((any(c.isdigit() for c in core), any(c.isupper() for c in core),
                   any(c.islower() for c in core)))  # fmt: skip
    return classes >= 2 and entropy(core) >= (3.0 if len(core) < 20 else 3.3)


_BARE_MINIMUM: Final = 32
#: The run a bare token needs: the C gate hands every string with one to Python.
BARE_RUN: Final = _BARE_MINIMUM
BARE: Final = re.compile(r"(?<![\w+/=.\-~%])[A-Za-z0-9+/]{32,}={0,2}(?![\w+/=.\-~%])")
_HEX: Final = re.compile(r"[0-9a-fA-F]+")
#: Word-like pieces of an identifier: "Deberta", "Sequence", "lora".
_WORDISH: Final = re.compile(r"[A-Z][a-z]{2,}|[A-Z]{2,}(?=[A-Z][a-z])")
#: Base64 of binary formats that show up in logs (PNG, JPEG, GIF, gzip, zip, PDF, numpy).
_BINARY_BASE64: Final = ("iVBORw0KGgo", "/9j/", "R0lGOD", "H4sI", "UEsDB", "JVBER", "k05VTVBZ")


def judge_bare(match: re.Match[str]) -> str:
    """A run of 32+ letters and digits with no prefix: a secret when it looks random
    and is neither hex (a hash, a git SHA), a path, nor base64 of text or of a
    known binary format."""
    found = match.group(0)
    core = found.rstrip("=")
    if _HEX.fullmatch(core) or core.startswith(_BINARY_BASE64):
        return found
    if "/" in core and (core.startswith("/") or (core.count("/") >= 2 and _pathlike(core))):
        return found
    if sum(map(len, _WORDISH.findall(core))) >= 0.8 * len(core):
        return found  # an identifier (DebertaV2ForSequenceClassification)
    digits = sum(c.isdigit() for c in core)
    upper = sum(c.isupper() for c in core)
    lower = sum(c.islower() for c in core)
    if digits == 0 or (upper == 0 and lower == 0):
        return found
    if entropy(core) < 4.0 or _decodes_to_text(found):
        return found
    return REDACTED


def _pathlike(core: str) -> bool:
    parts = [p for p in core.split("/") if p]
    return all(p.islower() or p.isdigit() or len(p) < 12 for p in parts)


def _decodes_to_text(token: str) -> bool:
    """Base64 (standard or URL-safe) of mostly printable text: data, not a key."""
    padded = token + "=" * (-len(token) % 4)
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            raw = decode(padded)
        except (binascii.Error, ValueError):
            continue
        if raw and sum(32 <= b < 127 or b in (9, 10, 13) for b in raw) >= 0.9 * len(raw):
            return True
    return False


# --- structures -----------------------------------------------------------------------------

#: Body of a PEM or PGP block: base64 lines and armour headers ("Version: ...").
_PEM: Final = re.compile(
    r"-----BEGIN (?P<kind>[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?)-----"
    r"(?P<body>[A-Za-z0-9+/=\s:,.\-]{0,16384}?)"  # bounded: a 4096-bit RSA key is 3.2 KB
    r"(?:-----END (?P=kind)-----|(?=[^A-Za-z0-9+/=\s:,.\-])|\Z)"
)
_BASE64_RUN: Final = re.compile(r"[A-Za-z0-9+/]{16,}")


def _mask_pem(match: re.Match[str]) -> str:
    """The whole block when it has a body; a bare header (an error message naming
    the expected marker) is not a secret."""
    return REDACTED if _BASE64_RUN.search(match.group("body")) else match.group(0)


_JWT: Final = re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*")


def _mask_jwt(match: re.Match[str]) -> str:
    """Three base64url parts whose first decodes to a JSON header."""
    header = match.group(0).split(".", 1)[0]
    try:
        decoded = base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))
    except (binascii.Error, ValueError):
        return match.group(0)
    return REDACTED if decoded.lstrip().startswith(b"{") and b'"' in decoded else match.group(0)


# "Authorization: Bearer <token>" and "Basic <base64>"; the word after "bearer"
# must look like a token ("Bearer token missing" keeps its words).
_BEARER: Final = re.compile(
    r"(?i)(?<![\w])(?P<scheme>bearer|token)(?P<gap>[ \t]+)(?P<s>[A-Za-z0-9\-._~+/]+=*)"
)
_BASIC: Final = re.compile(r"(?i)(?<![\w])basic[ \t]+(?P<s>[A-Za-z0-9+/]{8,}={0,2})(?![\w+/=])")


def _mask_bearer(match: re.Match[str]) -> str:
    """After "Bearer" anything but a plain word; after "token" (GitHub's scheme,
    and a common word) only a random-looking value."""
    secret = match.group("s")
    if match.group("scheme").lower() == "bearer":
        keep = secret.isalpha() and not looks_random(secret, 16)
    else:
        keep = not looks_random(secret, 12)
    if keep:
        return match.group(0)
    return f"{match.group('scheme')}{match.group('gap')}{REDACTED}"


def _mask_basic(match: re.Match[str]) -> str:
    secret = match.group("s")
    if secret.isalpha() and not _decodes_to_text(secret):  # a word after "basic"
        return match.group(0)
    start = match.start("s") - match.start()
    return match.group(0)[:start] + REDACTED


#: user:password@ in a URL; the password runs to the last "@" of the authority, so
#: one with a raw "@" is masked whole. The user may be empty (redis://:pw@host).
URL_MARKER: Final = "://"
_URL_PASSWORD: Final = re.compile(r"(?P<head>://[^\s:/?#@]*:)(?P<s>[^\s/?]+)@(?=[^\s@/?#])")
#: A token alone before the "@" (https://<token>@github.com, Sentry DSNs).
_URL_TOKEN: Final = re.compile(r"(?P<head>://)(?P<s>[A-Za-z0-9_\-]{20,})@")


def _mask_url_token(match: re.Match[str]) -> str:
    secret = match.group("s")
    if not (looks_random(secret, 20) or _HEX.fullmatch(secret)):
        return match.group(0)
    return f"{match.group('head')}{REDACTED}@"


#: A W&B key: 40 hex characters after the word wandb ("wandb login <key>").
_WANDB: Final = re.compile(r"(?i)\bwandb\b[\w .:\-]{0,24}?[\s=:]+[\"']?(?P<s>[a-f0-9]{40})\b")
#: Azure AD client secrets: three characters, a digit, "Q~", then 31 to 34.
_AZURE_SECRET: Final = re.compile(r"(?<![\w~.])[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.\-]{31,34}")
_CURL_USER: Final = re.compile(r"(?:^|\s)(?:-u|--user)[ \t=]+['\"]?[^\s:'\"]*:(?P<s>[^\s'\"]+)")
_SLACK_WEBHOOK: Final = re.compile(
    r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<s>[A-Za-z0-9+/_\-]{20,})"
)


def _mask_unless_variable(match: re.Match[str]) -> str:
    """``curl -u user:$PASS`` names a variable; the secret is elsewhere."""
    return match.group(0) if match.group("s").startswith("$") else mask_group(match)


def mask_group(match: re.Match[str]) -> str:
    """The named group ``s`` masked, the rest of the match kept."""
    whole = match.group(0)
    start, end = match.start("s") - match.start(), match.end("s") - match.start()
    return whole[:start] + REDACTED + whole[end:]


#: key=value, key: value, "key": "value", --key value, in free text. The key is
#: judged by the same rule as a record's keys (Redactor.is_secret_key).
KEY_VALUE: Final = re.compile(
    r"(?P<key>(?<![\w.\-])(?:--?)?[A-Za-z][\w.\-]{1,60}?)(?P<quote>[\"']?)"
    r"(?P<sep>[ \t]*(?:=>|:=|[=:])[ \t]*|[ \t]+(?=\S))"
    r"(?P<open>[\"']?)(?P<s>[^\s\"',;&<>(){}\[\]]+)"
)
#: Values that stand for "no secret here".
PLACEHOLDERS: Final = frozenset(
    {"none", "null", "nil", "true", "false", "yes", "no", "required", "missing", "unset",
     "empty", "redacted", REDACTED.lower(), "***", "****", "xxx", "<redacted>"}
)  # fmt: skip

Rule = tuple[tuple[str, ...], re.Pattern[str], Callable[[re.Match[str]], str]]
#: (literals, rule, replacement) for the structures; a rule runs only when the
#: lower-cased text holds one of its literals.
STRUCTURES: Final[tuple[Rule, ...]] = (
    (("private key",), _PEM, _mask_pem),
    (("eyj",), _JWT, _mask_jwt),
    (("bearer", "token "), _BEARER, _mask_bearer),
    (("basic",), _BASIC, _mask_basic),
    (("://",), _URL_PASSWORD, mask_group),
    (("://",), _URL_TOKEN, _mask_url_token),
    (("-u", "--user"), _CURL_USER, _mask_unless_variable),
    (("hooks.slack.com",), _SLACK_WEBHOOK, mask_group),
    (("wandb",), _WANDB, mask_group),
    (("q~",), _AZURE_SECRET, lambda match: REDACTED),
)  # fmt: skip

#: Lower-case words without which no key=value rule can match (the gate's
#: literals): every built-in secret word of the key rule contains one of them.
KEY_VALUE_LITERALS: Final = (
    "key", "token", "secret", "pass", "pwd", "auth", "credential", "cookie", "dsn",
    "sig", "pat", "jwt", "url", "uri", "conn",
)  # fmt: skip

#: The gate's literals (lower case, matched in any case): a text holding none of
#: them and no run of redact.TOKEN_RUN token characters holds no secret we know.
#: Rules whose secret is always such a run (prefixed and bare tokens, JWTs, PEM
#: bodies, webhooks, wandb and Azure keys) need no literal here; the others do.
GATE_LITERALS: Final = tuple(sorted({*KEY_VALUE_LITERALS, "bearer", "basic", "://", "-u"}))
