# ruff: noqa: E501 - a table of token formats: one kind per line reads best
"""Our own redaction corpus: secrets in the formats providers issue, and ordinary
research-log content that must come through untouched.

Every secret is generated here from the token format (a seeded generator, so
the corpus is the same on every run): the formats are facts from the
providers' documentation and the public rule sets of gitleaks, trufflehog and
detect-secrets; no value is copied from their fixtures. ``research`` marks
the kinds research code handles (model providers, Hugging Face, W&B, GitHub,
clouds, databases, JWTs, Slack...).

A case carries the text a program would log (``carrier``) and the part of it
that must not reach the file (``secret``); with a fixed prefix (``hf_``) only
the random part counts.
"""

from __future__ import annotations

import base64
import json
import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class Case:
    kind: str
    research: bool
    carrier: str
    secret: str


ALNUM = string.ascii_letters + string.digits
LOWER_ALNUM = string.ascii_lowercase + string.digits
UPPER_ALNUM = string.ascii_uppercase + string.digits
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"
BASE32 = string.ascii_uppercase + "234567"


def _gen(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(rng: random.Random) -> str:
    header = {"alg": rng.choice(["HS256", "RS256", "ES256"]), "typ": "JWT"}
    claims = {"sub": str(rng.randrange(10**6)), "iat": 1_700_000_000 + rng.randrange(10**6)}
    if rng.random() < 0.5:
        claims["scope"] = "read:models write:runs"
    signature = bytes(rng.randrange(256) for _ in range(32))
    return ".".join(
        (_b64url(json.dumps(header).encode()), _b64url(json.dumps(claims).encode()),
         _b64url(signature))
    )  # fmt: skip


def _pem(rng: random.Random, kind: str) -> str:
    body = base64.b64encode(bytes(rng.randrange(256) for _ in range(180))).decode()
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN {kind}-----\n{lines}\n-----END {kind}-----"


Maker = Callable[[random.Random], tuple[str, str]]


def _token(prefix: str, alphabet: str, n: int, suffix: str = "") -> Maker:
    def make(rng: random.Random) -> tuple[str, str]:
        body = _gen(rng, alphabet, n)
        return prefix + body + suffix, body

    return make


def _carried(template: str, alphabet: str, n: int) -> Maker:
    """A secret inside the text that carries it (a DSN, a header, a command)."""

    def make(rng: random.Random) -> tuple[str, str]:
        secret = _gen(rng, alphabet, n)
        return template.format(s=secret, host=rng.choice(["db", "pg-1", "10.0.0.7"])), secret

    return make


def _password(rng: random.Random) -> str:
    words = ["train", "rollout", "vega", "orbit", "maple", "delta"]
    return (
        rng.choice(words)
        + _gen(rng, string.digits, 3)
        + rng.choice("!#%*")
        + _gen(rng, string.ascii_letters, 3)
    )


def _with_password(template: str) -> Maker:
    def make(rng: random.Random) -> tuple[str, str]:
        secret = _password(rng)
        return template.format(s=secret), secret

    return make


def _basic(rng: random.Random) -> tuple[str, str]:
    secret = base64.b64encode(f"ml-bot:{_password(rng)}".encode()).decode()
    return f"Authorization: Basic {secret}", secret


def _sas(rng: random.Random) -> tuple[str, str]:
    signature = base64.b64encode(bytes(rng.randrange(256) for _ in range(32))).decode()
    secret = quote(signature, safe="")
    return (
        f"https://ckpts.blob.core.windows.net/runs/model.pt?sv=2022-11-02&ss=b&srt=o"
        f"&se=2026-12-01T00:00:00Z&sp=r&sig={secret}",
        signature[:-1],
    )


def _account_key(rng: random.Random) -> tuple[str, str]:
    secret = base64.b64encode(bytes(rng.randrange(256) for _ in range(64))).decode()
    return (
        "DefaultEndpointsProtocol=https;AccountName=ckpts;"
        f"AccountKey={secret};EndpointSuffix=core.windows.net",
        secret,
    )


def _aws_pair(rng: random.Random) -> tuple[str, str]:
    secret = _gen(rng, B64, 40)
    key_id = "AKIA" + _gen(rng, BASE32, 16)
    return f"aws_access_key_id={key_id} aws_secret_access_key={secret}", secret


def _raw_at_password(rng: random.Random) -> tuple[str, str]:
    secret = _gen(rng, ALNUM, 6) + "@" + _gen(rng, ALNUM, 6)
    return f"https://trainer:{secret}@mlflow.internal:5000/api", secret


#: (kind, research, maker)
KINDS: list[tuple[str, bool, Maker]] = [
    # model providers
    ("openai-project", True, _token("sk-proj-", URLSAFE, 156)),
    (
        "openai-legacy",
        True,
        lambda r: (f"sk-{_gen(r, ALNUM, 20)}T3BlbkFJ{_gen(r, ALNUM, 20)}",) * 2,
    ),
    ("openai-svcacct", True, _token("sk-svcacct-", URLSAFE, 120)),
    ("anthropic", True, _token("sk-ant-api03-", URLSAFE, 93, "AA")),
    ("anthropic-admin", True, _token("sk-ant-admin01-", URLSAFE, 93, "AA")),
    ("deepseek", True, _token("sk-", HEX, 32)),
    ("openrouter", True, _token("sk-or-v1-", HEX, 64)),
    ("groq", True, _token("gsk_", ALNUM, 52)),
    ("xai", True, _token("xai-", ALNUM, 80)),
    ("replicate", True, _token("r8_", ALNUM, 37)),
    ("langsmith", True, lambda r: ((s := f"lsv2_pt_{_gen(r, HEX, 32)}_{_gen(r, HEX, 10)}"), s)),
    ("pinecone", True, lambda r: ((s := f"pcsk_{_gen(r, ALNUM, 5)}_{_gen(r, ALNUM, 64)}"), s)),
    ("perplexity", True, _token("pplx-", ALNUM, 48)),
    ("cohere", True, _token("", ALNUM, 40)),
    ("mistral", True, _token("", ALNUM, 32)),
    ("google-ai", True, _token("AIza", URLSAFE, 35)),
    ("bedrock", True, _token("ABSKQmVkcm9ja0FQSUtleS", B64, 110)),
    ("nvidia", True, _token("nvapi-", URLSAFE, 64)),
    # Hugging Face, W&B, GitHub, GitLab
    ("hf-user", True, _token("hf_", string.ascii_letters, 34)),
    ("hf-org", True, _token("api_org_", string.ascii_letters, 34)),
    ("wandb-env", True, _carried("WANDB_API_KEY={s}", HEX, 40)),
    ("wandb-login", True, _carried("wandb login {s}", HEX, 40)),
    ("github-pat", True, _token("ghp_", ALNUM, 36)),
    ("github-oauth", True, _token("gho_", ALNUM, 36)),
    ("github-fine-grained", True, _token("github_pat_", ALNUM + "_", 82)),
    ("gitlab-pat", True, _token("glpat-", URLSAFE, 20)),
    ("gitlab-deploy", True, _token("gldt-", URLSAFE, 20)),
    ("gitlab-runner", True, _token("glrt-", URLSAFE, 20)),
    # clouds
    ("aws-key-id", True, _token("AKIA", BASE32, 16)),
    ("aws-secret", True, _aws_pair),
    ("aws-secret-bare", True, _token("", B64, 40)),
    (
        "azure-client-secret",
        True,
        lambda r: ((s := f"{_gen(r, ALNUM, 3)}8Q~{_gen(r, URLSAFE, 34)}"), s),
    ),
    ("azure-storage", True, _account_key),
    ("azure-sas", True, _sas),
    ("databricks", True, _token("dapi", HEX, 32)),
    # databases, URLs, headers, commands
    ("postgres-url", True, _with_password("postgresql://trainer:{s}@db.internal:5432/runs")),
    ("mysql-url", True, _with_password("mysql://root:{s}@10.0.0.7:3306/metrics")),
    ("mongo-url", True, _with_password("mongodb+srv://ml:{s}@cluster0.ab1cd.mongodb.net/exp")),
    ("redis-url", True, _with_password("redis://:{s}@cache.internal:6379/0")),
    ("amqp-url", True, _with_password("amqp://celery:{s}@rabbit:5672//")),
    (
        "libpq-dsn",
        True,
        _with_password("host=db port=5432 dbname=runs user=ml password={s} sslmode=require"),
    ),
    (
        "jdbc",
        True,
        _with_password("jdbc:sqlserver://db:1433;databaseName=runs;user=sa;password={s};"),
    ),
    ("url-raw-at", True, _raw_at_password),
    ("bearer", True, _carried("Authorization: Bearer {s}", URLSAFE, 40)),
    ("basic", True, _basic),
    ("curl-user", True, _with_password("curl -u admin:{s} https://mlflow.internal/api/2.0/runs")),
    ("jwt", True, lambda r: ((s := _jwt(r)), s.rsplit(".", 1)[1] or s)),
    ("pem-rsa", True, lambda r: ((s := _pem(r, "RSA PRIVATE KEY")), s.splitlines()[1])),
    ("pem-openssh", True, lambda r: ((s := _pem(r, "OPENSSH PRIVATE KEY")), s.splitlines()[1])),
    ("pgp", True, lambda r: ((s := _pem(r, "PGP PRIVATE KEY BLOCK")), s.splitlines()[1])),
    # Slack, Sentry, package registries
    (
        "slack-bot",
        True,
        lambda r: (
            (
                s
                := f"xoxb-{_gen(r, string.digits, 12)}-{_gen(r, string.digits, 13)}-{_gen(r, ALNUM, 24)}"
            ),
            s,
        ),
    ),
    (
        "slack-app",
        True,
        lambda r: (
            (
                s
                := f"xapp-1-A{_gen(r, UPPER_ALNUM, 10)}-{_gen(r, string.digits, 13)}-{_gen(r, HEX, 64)}"
            ),
            s,
        ),
    ),
    (
        "slack-webhook",
        True,
        lambda r: (
            f"https://hooks.slack.com/services/T{_gen(r, UPPER_ALNUM, 8)}/B{_gen(r, UPPER_ALNUM, 10)}/{(s := _gen(r, ALNUM, 24))}",
            s,
        ),
    ),
    (
        "sentry-dsn",
        True,
        lambda r: (
            f"https://{(s := _gen(r, HEX, 32))}@o{r.randrange(10**6)}.ingest.sentry.io/{r.randrange(10**7)}",
            s,
        ),
    ),
    ("sentry-user", True, _token("sntryu_", HEX, 64)),
    ("pypi", True, _token("pypi-AgEIcHlwaS5vcmc", URLSAFE, 70)),
    ("npm", True, _token("npm_", ALNUM, 36)),
    ("stripe", True, _token("sk_live_", ALNUM, 99)),
    # other services (gitleaks' long tail)
    ("digitalocean", False, _token("dop_v1_", HEX, 64)),
    ("sendgrid", False, lambda r: ((s := f"SG.{_gen(r, URLSAFE, 22)}.{_gen(r, URLSAFE, 43)}"), s)),
    ("shopify", False, _token("shpat_", HEX, 32)),
    ("linear", False, _token("lin_api_", ALNUM, 40)),
    ("vault", False, _token("hvs.", URLSAFE, 95)),
    ("postman", False, lambda r: ((s := f"PMAK-{_gen(r, HEX, 24)}-{_gen(r, HEX, 34)}"), s)),
    ("twilio", False, _token("SK", HEX, 32)),
    ("doppler", False, _token("dp.pt.", ALNUM, 43)),
    ("generic-32", False, _token("", ALNUM, 32)),
    ("generic-45", False, _token("", ALNUM, 45)),
    ("generic-64", False, _token("", ALNUM + "_-", 64)),
    ("generic-lower-40", False, _token("", LOWER_ALNUM, 40)),
    ("alibaba", False, _token("LTAI", ALNUM, 20)),
    ("age", False, _token("AGE-SECRET-KEY-1", "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58)),
    ("hex-32-context", False, _carried("FACEBOOK_SECRET={s}", HEX, 32)),
    ("hex-32-bare", False, _token("", HEX, 32)),
    ("uuid-bare", False, lambda r: ((s := "-".join(_gen(r, HEX, n) for n in (8, 4, 4, 4, 12))), s)),
]


def secrets(per_kind: int = 3, seed: int = 20261130) -> list[Case]:
    rng = random.Random(seed)
    cases = []
    for kind, research, make in KINDS:
        for _ in range(per_kind):
            carrier, secret = make(rng)
            cases.append(Case(kind, research, carrier, secret))
    return cases


#: Research-log content that must come through untouched, in a message or a value.
ORDINARY: list[str] = [
    "step 1200 done: loss=0.4127 lr=3e-05 grad_norm=1.27 tokens/s=18234",
    "commit 9fceb02d0ae598e95dc970b74767f19372d61af8 on main",
    "checkpoint sha256: 3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b",
    "run 7f3c2a1e-9b4d-4c8a-a1f2-3e5d6c7b8a90 resumed from step 4000",
    "payload eyJzdGVwIjogMTAsICJsb3NzIjogMC41fQ== decoded",
    "metadata eyJtb2RlbCI6ICJxd2VuMi43YiIsICJlcG9jaCI6IDN9",
    "primer ACCAGTTGACCTAGGCATTA aligned to chr7",
    "read ACCATGGTTAGCCATGACCA mapped with 2 mismatches",
    "Bearer token missing from request headers",
    "Using bearer authentication for the inference server",
    "expected '-----BEGIN PRIVATE KEY-----' at line 1 of /etc/keys/missing.pem",
    "loaded tokenizer meta-llama/Llama-3.1-8B-Instruct with 128256 tokens",
    "model microsoft/Phi-3-mini-4k-instruct loaded in 12.3s",
    "saved to /mnt/shared/users/alice/experiments/run42/checkpoints/step_1000",
    "wandb: run summary at https://wandb.ai/team/project/runs/3k2j9x1q",
    "eos_token_id=151643 pad_token_id=151643 bos_token=<|im_start|>",
    "token budget exceeded: 32768 > 32000",
    "generated 512 tokens in 3.2s (160 tokens/s)",
    "password reset email sent to the owner",
    "api_key not set, falling back to the local server",
    "api_key=None; using anonymous access",
    "cache key=train-shard-00001 hit",
    "secret sauce: warmup then cosine decay",
    "response id chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT finish_reason=stop",
    "anthropic message msg_01XFDUDYJgAACzvnptvVoYEL stop_reason=end_turn",
    "docker image sha256:4d3ba7d24b2e9c3f1b8a7e6d5c4b3a291817161514131211100f0e0d0c0b0a09",
    "pip install torch --hash=sha256:0b1f3e2d4c5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0",
    "GET https://api.example.com/v1/models?page=2&limit=50 200",
    "s3://ml-datasets/tokenized/v3/shard-00042-of-00128.parquet",
    "reward=0.75 kl=0.012 entropy=2.31 response_length=412",
    "evaluated pass@1=0.42 pass@10=0.71 on humaneval",
    "rank 3/8 on node gpu-a100-17 ready",
    "attention mask shape (8, 4096) dtype torch.bool",
    "hostname ip-10-0-12-34.ec2.internal up 3d",
    "signal SIGTERM received; saving state",
    "auth_method=oauth credential_source=env",
    "token: 151643",
    "sigmoid temperature 0.7",
    "used 3.2 GiB of 80 GiB; key cache 512 MiB",
    "merged 4 LoRA adapters: q_proj,k_proj,v_proj,o_proj",
    "model.layers.31.self_attn.q_proj.weight: torch.Size([4096, 4096])",
    "ValueError: expected key 'input_ids' in batch, got ['text', 'label']",
    "dataset HuggingFaceH4/ultrachat_200k split train_sft 207865 rows",
    "model DebertaV2ForSequenceClassification loaded from the hub",
    "trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7",
    'etag: "33a64df551425fcc55e4d42a148795d9f25f89d4"',
    "checkpoint_id=ckpt_2024_11_30_step_000123 saved",
    "dataset fingerprint 8a5f2c1d9e3b7a6f4c2d1e0b9a8f7e6d5c4b3a29",
    "lr=3e-05 seed: 1234567890123 warmup_steps=500",
    "input_ids: [151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13]",
    "password: incorrect for user bob",
    "the token is invalid; Authorization header missing",
    "sk-learn version 1.5.2 and sk-ant models",
    "torch.distributed init_method=tcp://10.0.0.1:29500 world_size=8",
    "file:///tmp/ray/session_2024-11-30_01-02-03_123456_789/logs",
    "cloning https://github.com/org/repo.git and git@github.com:org/repo.git",
    "curl -u $USER:$PASS https://mlflow.internal/api",
    "base64 of text: SGVsbG8sIHRoaXMgaXMgYSBwbGFpbiBzZW50ZW5jZSBvZiB0ZXh0Lg==",
    "sampling_params=SamplingParams(n=8, temperature=1.0, top_p=1.0, max_tokens=4096)",
    "base64 image iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
]

#: ML key names whose values are counts, ids and metrics, not secrets.
ML_KEYS: dict[str, object] = {
    "eos_token_id": 151643, "pad_token_id": 151643, "bos_token": "<s>",
    "token_ids": [1, 2, 3], "token_type_ids": [0, 0, 1], "token_count": 512,
    "token_budget": 32000, "mean_token_accuracy": 0.81, "per_token_logps": [-0.2, -1.3],
    "token_entropy": 2.1, "last_token_logprob": -0.05, "num_tokens": 2048,
    "max_tokens": 1024, "max_new_tokens": 512, "tokenizer": "gpt2",
    "prompt_tokens": 120, "completion_tokens": 412, "tokens_per_second": 1800.5,
    "auth_method": "oauth", "credential_source": "env", "key": "train",
    "cache_key": "shard-1", "sort_key": "step", "num_keys": 12, "pass_rate": 0.4,
    "pass_at_1": 0.42, "model_signature": "inputs: [string]", "secret_name": "hf-token",
    "private_key_path": "/etc/keys/id_ed25519", "api_key_env": "OPENAI_API_KEY",
    "password_min_length": 12, "eos_token": "</s>", "unk_token": "<unk>",
    "special_tokens": ["<s>", "</s>"],
}  # fmt: skip

#: Key names whose values are secrets.
SECRET_KEYS: list[str] = [
    "wandb_key", "openai_key", "DATABASE_URL", "db_url", "SQLALCHEMY_DATABASE_URI",
    "MONGO_URI", "REDIS_URL", "dsn", "connection_string", "passphrase", "pass",
    "GITHUB_PAT", "service_account_json", "SLACK_WEBHOOK_URL", "jwt", "signature",
    "password", "api_key", "access_token", "HF_TOKEN", "client_secret", "Authorization",
    "AWS_SECRET_ACCESS_KEY", "aws_access_key_id", "ANTHROPIC_API_KEY", "x-api-key",
    "cookie", "private_key", "secret", "token", "refresh_token", "db_password",
]  # fmt: skip


def windows(secret: str, size: int = 8) -> list[str]:
    """The 8-character windows of a secret: none may appear in the output."""
    return [secret[i : i + size] for i in range(max(1, len(secret) - size + 1))]
