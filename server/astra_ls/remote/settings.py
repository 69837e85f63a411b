"""How a remote store is declared in `astra-ls.toml`, and how it is named in URIs and on disk.

Only addresses and a path to a credentials file live in the configuration: the secret itself stays in
that file (or in the NATS context of the machine), never in a file that is checked in.

    [[remote]]
    name = "prod"                            # astra-remote://prod/<stream>
    servers = ["nats://10.0.0.1:4222", "nats://10.0.0.2:4222"]
    credentials = "~/.config/astra/prod.creds"
    stream = "ASTRA_PROD"                    # the JetStream stream holding every event stream
    subject = "astra.prod"                   # event stream <s> is subject astra.prod.<s>
    replicas = 3
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

from pydantic import BaseModel, ConfigDict, Field, field_validator

from astra_ls.store.cache_location import cache_home

SCHEME = "astra-remote"
REMOTE_EXTRA_HINT = (
    'remote stores need the NATS client: install astra-ls with its remote extra (pip install "astra-ls[remote]")'
)


def remote_client_missing() -> str | None:
    """What to tell the user when the NATS client (the optional `remote` extra) is not installed, else None."""
    try:
        import nats  # noqa: F401  (only whether it imports)
    except ImportError:
        return REMOTE_EXTRA_HINT
    return None

REMOTE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
JS_STREAM_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
SUBJECT_PREFIX = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")


class RemoteConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="How the store is named in astra-remote://<name>/<stream> and --remote.")
    servers: list[str] = Field(min_length=1, description="NATS server URLs; list several for a cluster.")
    credentials: str | None = Field(default=None, description="Path to a NATS .creds file (never the secret).")
    stream: str | None = Field(default=None, description="JetStream stream name (default ASTRA_<NAME>).")
    subject: str | None = Field(default=None, description="Subject prefix (default astra.<name>).")
    replicas: int = Field(default=1, ge=1, le=5)
    timeout: float = Field(default=5.0, gt=0, description="Seconds one request may take.")
    retry_seconds: float = Field(default=20.0, ge=0, description="How long an append keeps retrying.")

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not REMOTE_NAME.fullmatch(value):
            raise ValueError(f"remote name {value!r} is not a plain name (letters, digits, '_', '-')")
        return value

    @field_validator("stream")
    @classmethod
    def _stream_name(cls, value: str | None) -> str | None:
        if value is not None and not JS_STREAM_NAME.fullmatch(value):
            raise ValueError(f"JetStream stream name {value!r} may only hold letters, digits, '_' and '-'")
        return value

    @field_validator("subject")
    @classmethod
    def _subject(cls, value: str | None) -> str | None:
        if value is not None and not SUBJECT_PREFIX.fullmatch(value):
            raise ValueError(f"subject prefix {value!r} must be dot-separated plain tokens (no wildcards)")
        return value

    @property
    def js_stream(self) -> str:
        return self.stream or "ASTRA_" + self.name.upper().replace("-", "_")

    @property
    def prefix(self) -> str:
        return self.subject or f"astra.{self.name}"

    def subject_of(self, stream: str) -> str:
        return f"{self.prefix}.{stream}"

    def credentials_path(self, root: Path) -> Path | None:
        if self.credentials is None:
            return None
        path = Path(os.path.expanduser(self.credentials))
        return path if path.is_absolute() else root / path


def mirror_root(remote: RemoteConfig) -> Path:
    """One folder per (servers, stream, subject): two workspaces naming the same remote share its mirror. Mirrors
    are rebuilt from the server at will, so they live in the user cache folder, outside workspaces."""
    key = "\n".join([*sorted(remote.servers), remote.js_stream, remote.prefix]).encode()
    return cache_home() / "remote" / hashlib.sha256(key).hexdigest()[:20]


def remote_uri(remote: str, stream: str) -> str:
    return f"{SCHEME}://{quote(remote)}/{quote(stream)}"


def parse_remote_uri(uri: str) -> tuple[str, str] | None:
    """(remote name, stream) of an astra-remote URI, None for anything else."""
    if not uri.startswith(f"{SCHEME}:"):
        return None
    parsed = urlparse(uri)
    return unquote(parsed.netloc), unquote(parsed.path.lstrip("/"))
