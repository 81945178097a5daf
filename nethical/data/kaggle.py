"""Kaggle datasets: slug checks, credentials, a download cache, and an injectable download client.

Layout: ``<cache>/<owner>/<name>/<version or latest>/`` holds the dataset's files and a ``.nethical-complete.json``
marker written last, so a download cut short never counts as cached. A slug is ``owner/name`` or
``owner/name/versions/N``; each part is letters, digits, ``-``, ``_`` or ``.`` (never ``.`` or ``..`` alone), so a slug
cannot escape the cache directory.

Credentials (checked before any download, never copied into a message, log, event or model card): the environment
(``KAGGLE_USERNAME`` + ``KAGGLE_KEY``, or ``KAGGLE_API_TOKEN``), ``$KAGGLE_CONFIG_DIR/kaggle.json`` or
``~/.kaggle/kaggle.json``, ``~/.kaggle/access_token``, or the client's own configuration. A ``kaggle.json`` that
other users can read is warned about. The real client wraps ``kagglehub`` (optional; imported only when a download is
needed). Without credentials, with ``no_download`` and nothing cached, or when the download fails, a
:class:`~nethical.data.files.DataUnavailableError` says why, so the caller can fall back to synthetic data.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Protocol, Sequence, Tuple

from nethical.data.files import DataUnavailableError
from nethical.exceptions import ConfigError

MARKER = ".nethical-complete.json"
_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class KaggleSlug:
    """A checked dataset handle."""

    owner: str
    name: str
    version: Optional[int] = None

    @property
    def handle(self) -> str:
        base = f"{self.owner}/{self.name}"
        return base if self.version is None else f"{base}/versions/{self.version}"

    @property
    def version_dir(self) -> str:
        return "latest" if self.version is None else str(self.version)


def parse_slug(slug: str) -> KaggleSlug:
    """``owner/name`` or ``owner/name/versions/N``; anything else (``..``, extra ``/``, control characters) is a ConfigError."""
    text = str(slug).strip()
    parts = text.split("/")
    version: Optional[int] = None
    if len(parts) == 4 and parts[2] == "versions" and parts[3].isdigit() and parts[3].isascii():
        version = int(parts[3])
        parts = parts[:2]
    if len(parts) != 2 or not all(_PART.fullmatch(p) and p.strip(".") for p in parts):
        shown = text.encode("unicode_escape").decode("ascii")[:80]
        raise ConfigError(
            f"--kaggle-dataset {shown!r} is not a Kaggle dataset slug; use OWNER/NAME (letters, digits, '-', '_', '.') "
            "or OWNER/NAME/versions/N, e.g. uciml/sms-spam-collection-dataset."
        )
    return KaggleSlug(parts[0], parts[1], version)


def dataset_dir(cache_dir: Path, slug: KaggleSlug) -> Path:
    """``<cache>/<owner>/<name>/<version>``, checked to lie inside ``cache_dir``."""
    root = Path(cache_dir).resolve()
    path = (root / slug.owner / slug.name / slug.version_dir).resolve()
    if root not in path.parents:
        raise ConfigError(f"Kaggle slug {slug.handle!r} resolves outside the cache dir {root}; use OWNER/NAME.")
    return path


def read_slug_list(path: Path) -> List[str]:
    """Slugs from a text file: one a line, blank lines and ``#`` comments ignored."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"--kaggle-datasets-file {str(p)!r} does not exist; pass a text file with one OWNER/NAME a line.")
    slugs = []
    for line in p.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            slugs.append(line)
    if not slugs:
        raise ConfigError(f"--kaggle-datasets-file {str(p)!r} lists no dataset; write one OWNER/NAME a line.")
    return slugs


# ---------------------------------------------------------------------------------------------------- credentials
@dataclass(frozen=True)
class CredentialStatus:
    """Where credentials were found (never the key itself). ``source`` is ``None`` when there are none."""

    source: Optional[str]
    problem: Optional[str] = None
    warnings: Tuple[str, ...] = ()


def _config_dir(env: Mapping[str, str], home: Path) -> Path:
    return Path(env.get("KAGGLE_CONFIG_DIR") or home / ".kaggle")


def resolve_credentials(env: Optional[Mapping[str, str]] = None, home: Optional[Path] = None, ask_client: bool = True) -> CredentialStatus:
    """Find Kaggle credentials without reading the key into any returned value."""
    env = os.environ if env is None else env
    home = Path.home() if home is None else Path(home)
    if env.get("KAGGLE_USERNAME") and env.get("KAGGLE_KEY"):
        return CredentialStatus("environment (KAGGLE_USERNAME, KAGGLE_KEY)")
    if env.get("KAGGLE_API_TOKEN"):
        return CredentialStatus("environment (KAGGLE_API_TOKEN)")
    json_path = _config_dir(env, home) / "kaggle.json"
    if json_path.is_file():
        warnings: Tuple[str, ...] = ()
        try:
            mode = json_path.stat().st_mode
            if mode & (stat.S_IRGRP | stat.S_IROTH):
                warnings = (f"{json_path} is readable by other users (mode {stat.S_IMODE(mode):o}); run: chmod 600 {json_path}",)
            content = json.loads(json_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return CredentialStatus(None, f"{json_path} is not readable JSON; re-create it from your Kaggle account page", warnings)
        if not isinstance(content, dict) or not content.get("username") or not content.get("key"):
            return CredentialStatus(None, f"{json_path} lacks 'username' or 'key'; re-create it from your Kaggle account page", warnings)
        return CredentialStatus(str(json_path), None, warnings)
    if (home / ".kaggle" / "access_token").is_file():
        return CredentialStatus(str(home / ".kaggle" / "access_token"))
    if ask_client:
        try:
            from kagglehub.config import get_kaggle_credentials  # optional dependency

            if get_kaggle_credentials() is not None:
                return CredentialStatus("kagglehub configuration")
        except Exception:  # noqa: BLE001 - absent or broken client config: treated as no credentials
            pass
    return CredentialStatus(None, "no Kaggle credentials: set KAGGLE_USERNAME and KAGGLE_KEY, or create ~/.kaggle/kaggle.json (chmod 600)")


def redact(text: str, env: Optional[Mapping[str, str]] = None, home: Optional[Path] = None) -> str:
    """``text`` on one line with every known credential removed, in every encoding a client may echo it (plain,
    base64 of ``user:key``, URL-encoded, an ``Authorization`` header...; see :mod:`nethical.redaction`)."""
    from nethical.redaction import known_secrets, redact as _redact

    secrets, users = known_secrets(env, home)
    return _redact(text, secrets, users)


# ---------------------------------------------------------------------------------------------------- clients
class KaggleClient(Protocol):
    """Downloads one dataset's files into ``dest_dir`` (an empty directory) and returns where they are."""

    def download(self, slug: str, dest_dir: Path) -> Path:  # pragma: no cover - protocol
        ...


class KagglehubClient:
    """The official ``kagglehub`` client (``pip install kagglehub``), imported only when a download runs."""

    def download(self, slug: str, dest_dir: Path) -> Path:
        try:
            import kagglehub
        except ImportError:
            raise DataUnavailableError("the Kaggle client is not installed; run: pip install kagglehub") from None
        return Path(kagglehub.dataset_download(slug, output_dir=str(dest_dir)))


def default_client() -> KaggleClient:
    """The client used when none is injected (tests replace this function)."""
    return KagglehubClient()


# ---------------------------------------------------------------------------------------------------- fetching
@dataclass(frozen=True)
class FetchedDataset:
    """A dataset in the cache: ``path`` holds ``files`` (relative names, sorted)."""

    slug: KaggleSlug
    path: Path
    files: Tuple[str, ...]
    cached: bool
    warnings: Tuple[str, ...] = field(default=())

    def provenance(self) -> Dict[str, object]:
        return {"slug": f"{self.slug.owner}/{self.slug.name}", "version": self.slug.version_dir}


def _list_files(root: Path) -> List[str]:
    return sorted(
        str(p.relative_to(root)) for p in root.rglob("*")
        if p.is_file() and not p.is_symlink() and p.name != MARKER and not p.name.startswith(".")
    )


def fetch_dataset(slug: str, cache_dir: Path, client: Optional[KaggleClient] = None, no_download: bool = False,
                  env: Optional[Mapping[str, str]] = None, home: Optional[Path] = None) -> FetchedDataset:
    """The dataset's files in the cache, downloading them first unless cached or ``no_download``.

    Raises:
        ConfigError: ``slug`` is malformed.
        DataUnavailableError: not cached and ``no_download``; no credentials; the download failed or gave no files.
    """
    parsed = parse_slug(slug)
    dest = dataset_dir(Path(cache_dir), parsed)
    if (dest / MARKER).is_file():
        return FetchedDataset(parsed, dest, tuple(_list_files(dest)), cached=True)
    if no_download:
        raise DataUnavailableError(f"Kaggle dataset {parsed.handle} is not in the cache ({dest}) and downloads are off (--no-download)")
    creds = resolve_credentials(env, home)
    if creds.source is None:
        raise DataUnavailableError(f"cannot download Kaggle dataset {parsed.handle}: {creds.problem}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = dest.parent / f".{dest.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        try:
            got = Path((client or default_client()).download(parsed.handle, staging))
        except DataUnavailableError:
            raise
        except Exception as exc:  # noqa: BLE001 - network, auth, 404: all mean "no real data"
            from nethical.redaction import describe_error, known_secrets

            secrets, users = known_secrets(env, home)
            raise DataUnavailableError(
                f"download of Kaggle dataset {parsed.handle} failed ({describe_error(exc, secrets, users)})"
            ) from None
        if got.resolve() != staging.resolve() and got.exists():
            _copy_into(got, staging)  # a client that ignored dest_dir: copy its regular files
        files = _list_files(staging)
        if not files:
            raise DataUnavailableError(f"Kaggle dataset {parsed.handle} downloaded no files")
        (staging / MARKER).write_text(json.dumps({"slug": parsed.handle, "files": files}, indent=1), encoding="utf-8")
        try:
            os.replace(staging, dest)
        except OSError:
            if not (dest / MARKER).is_file():  # not another process's finished copy: a real failure
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return FetchedDataset(parsed, dest, tuple(_list_files(dest)), cached=False, warnings=creds.warnings)


def _copy_into(src: Path, staging: Path) -> None:
    if src.is_file():
        shutil.copy2(src, staging / src.name)
        return
    for p in src.rglob("*"):
        if p.is_file() and not p.is_symlink():
            target = staging / p.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(p, target)


def fetch_all(slugs: Sequence[str], cache_dir: Path, client: Optional[KaggleClient] = None, no_download: bool = False) -> List[FetchedDataset]:
    """:func:`fetch_dataset` for each slug (all slugs are checked first, so a typo fails before any download)."""
    for s in slugs:
        parse_slug(s)
    return [fetch_dataset(s, cache_dir, client, no_download) for s in slugs]
