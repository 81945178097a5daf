"""Credentials never reach a card, an audit event, a drift store or a log line.

Errors from third-party clients (Kaggle, HTTP libraries) often echo the request that failed, and with it the
credential in whatever encoding the client sent: the plain key, ``user:key`` in base64 inside an
``Authorization: Basic ...`` header, the key URL-encoded in a query string, or ``user:key@`` in a URL. Such errors
are stored only through :func:`describe_error` — the exception's class name and a redacted, one-line message — and
any text that may hold them goes through :func:`redact`, which removes

- every known secret (:func:`known_secrets`: the credential environment variables and ``~/.kaggle/kaggle.json``) in
  every encoding we can anticipate: plain, URL-encoded (``quote`` and ``quote_plus``), base64 and base64url of the
  secret and of ``user:secret`` (padded or not), and hex;
- whatever follows an ``Authorization``/``Proxy-Authorization`` header or a ``Basic``/``Bearer``/``Token`` scheme;
- the user-info part of URLs (``https://user:key@host``) and the values of query parameters named like credentials.
"""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path
from typing import Iterable, List, Mapping, Optional, Sequence, Set, Tuple
from urllib.parse import quote, quote_plus

MASK = "***"
SECRET_ENV = ("KAGGLE_KEY", "KAGGLE_API_TOKEN", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "WANDB_API_KEY",
              "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "GITHUB_TOKEN", "OPENAI_API_KEY")
USER_ENV = ("KAGGLE_USERNAME",)
MIN_SECRET_LEN = 4

_AUTH_HEADER = re.compile(r"((?:proxy-)?authorization\b[\"']?\s*[:=]\s*[\"']?)(?:(basic|bearer|token|digest|negotiate)\s+)?"
                          r"[^\s\"',;}]+", re.IGNORECASE)
_AUTH_SCHEME = re.compile(r"\b(basic|bearer)\s+(?=[A-Za-z0-9+/_.~=-]*[0-9+/=])[A-Za-z0-9+/_.~=-]{8,}", re.IGNORECASE)
_URL_USERINFO = re.compile(r"([a-z][a-z0-9+.-]*://)[^/\s@]+@", re.IGNORECASE)
_SECRET_PARAM = re.compile(r"((?:[?&;]|\b)(?:api[_-]?key|apikey|key|token|access[_-]?token|auth|password|passwd|secret|"
                           r"signature|sig|client[_-]?secret)=)[^&\s\"']+", re.IGNORECASE)


def _b64_forms(raw: bytes) -> Set[str]:
    std = base64.b64encode(raw).decode("ascii")
    url = base64.urlsafe_b64encode(raw).decode("ascii")
    return {std, std.rstrip("="), url, url.rstrip("=")}


def variants(secret: str, users: Iterable[str] = ()) -> Set[str]:
    """Every encoding of ``secret`` (and of ``user:secret``) that :func:`redact` removes."""
    out = {secret, quote(secret, safe=""), quote_plus(secret), secret.encode("utf-8").hex()}
    out |= _b64_forms(secret.encode("utf-8"))
    for user in users:
        if user:
            pair = f"{user}:{secret}"
            out |= {pair, quote(pair, safe=""), quote_plus(pair)} | _b64_forms(pair.encode("utf-8"))
    return {v for v in out if len(v) >= MIN_SECRET_LEN}


def known_secrets(env: Optional[Mapping[str, str]] = None, home: Optional[Path] = None) -> Tuple[List[str], List[str]]:
    """``(secrets, users)`` from the environment and ``kaggle.json`` (never returned to callers that store text)."""
    env = os.environ if env is None else env
    home = Path.home() if home is None else Path(home)
    secrets = [env[k] for k in SECRET_ENV if env.get(k)]
    users = [env[k] for k in USER_ENV if env.get(k)]
    config = Path(env.get("KAGGLE_CONFIG_DIR") or home / ".kaggle") / "kaggle.json"
    try:
        content = json.loads(config.read_text(encoding="utf-8")) if config.is_file() else None
    except (OSError, ValueError):
        content = None
    if isinstance(content, dict):
        if content.get("key"):
            secrets.append(str(content["key"]))
        if content.get("username"):
            users.append(str(content["username"]))
    return [s for s in secrets if len(s) >= MIN_SECRET_LEN], users


def scrub(text: str, secrets: Sequence[str], users: Sequence[str] = ()) -> str:
    """``text`` with credentials removed, otherwise unchanged (no squeezing, no length limit)."""
    out = str(text)
    forms: Set[str] = set()
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET_LEN:
            forms |= variants(secret, users)
    for form in sorted(forms, key=len, reverse=True):  # longest first: user:key before key
        out = out.replace(form, MASK)
    out = _AUTH_HEADER.sub(lambda m: m.group(1) + (m.group(2) + " " if m.group(2) else "") + MASK, out)
    out = _AUTH_SCHEME.sub(lambda m: m.group(1) + " " + MASK, out)
    out = _URL_USERINFO.sub(lambda m: m.group(1) + MASK + "@", out)
    return _SECRET_PARAM.sub(lambda m: m.group(1) + MASK, out)


def scrub_value(value: object, secrets: Sequence[str], users: Sequence[str] = ()) -> object:
    """:func:`scrub` applied to every string in a JSON-like value (keys included), without recursion."""
    if isinstance(value, str):
        return scrub(value, secrets, users)
    if not isinstance(value, (dict, list, tuple)):
        return value
    root: List[object] = [None]
    stack = [(value, root, 0)]
    while stack:
        item, parent, slot = stack.pop()
        if isinstance(item, dict):
            new: object = {}
            for k, v in item.items():
                key = scrub(k, secrets, users) if isinstance(k, str) else k
                new[key] = None  # type: ignore[index]
                stack.append((v, new, key))
        elif isinstance(item, (list, tuple)):
            new = [None] * len(item)
            stack.extend((v, new, i) for i, v in enumerate(item))
        elif isinstance(item, str):
            new = scrub(item, secrets, users)
        else:
            new = item
        parent[slot] = new  # type: ignore[index]
    return root[0]


def redact(text: str, secrets: Optional[Sequence[str]] = None, users: Optional[Sequence[str]] = None,
           limit: int = 300) -> str:
    """``text`` on one line (at most ``limit`` characters) with credentials removed (see the module docstring);
    ``secrets``/``users`` default to :func:`known_secrets`."""
    if secrets is None or users is None:
        found_secrets, found_users = known_secrets()
        secrets = found_secrets if secrets is None else secrets
        users = found_users if users is None else users
    out = " ".join(scrub(text, secrets, users).split())
    return out if len(out) <= limit else out[: limit - 3] + "..."


def describe_error(exc: BaseException, secrets: Optional[Sequence[str]] = None,
                   users: Optional[Sequence[str]] = None, limit: int = 300) -> str:
    """How a third-party error is stored: ``ClassName: redacted one-line message``, never the text verbatim."""
    return f"{type(exc).__name__}: {redact(str(exc), secrets, users, limit)}"
