"""One configuration for the CLI and the server: `astra-ls.toml` or `[tool.astra-ls]` in pyproject.toml."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from astra_ls.core.codes import CODES, Severity
from astra_ls.core.problems import Problem
from astra_ls.remote.settings import RemoteConfig
from astra_ls.schemas.families import default_family

MAX_LINE_BYTES = 64 * 1024 * 1024  # the most `max_line_bytes` may be: memory stays bounded


class ConfigError(Exception):
    """The configuration cannot be used; the message says which file and what to change."""


class StoreRule(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    glob: str = Field(description="File name glob inside .astra/, e.g. 'agent-*.jsonl'.")
    schema_: str | None = Field(default=None, alias="schema",
                                description="A family, a JSON Schema file, or package.module:Name.")
    projector: str | None = Field(default=None, description="A built-in projector or package.module:function.")
    unique_ids: bool | None = None
    ordered_timestamps: bool | None = None
    # Fields that link events (dotted paths allowed): go to definition, references, `astra-ls related`.
    parent_field: str | None = Field(default=None, min_length=1,
                                     description="The field holding the parent event's id (default parentUuid).")
    causation_field: str | None = Field(default=None, min_length=1,
                                        description="The field holding the causing event's id (default causationId).")
    correlation_field: str | None = Field(default=None, min_length=1,
                                          description="The field events of one run share (default correlationId).")


class WorkspaceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    stores: list[StoreRule] = Field(default_factory=list)
    severity: dict[str, str] = Field(default_factory=dict)
    ignore: list[str] = Field(default_factory=list)
    max_line_bytes: int = Field(default=8 * 1024 * 1024, gt=0)  # at most MAX_LINE_BYTES
    max_problems_per_file: int = Field(default=1000, gt=0)
    id_field: str = "id"
    time_field: str = "timestamp"
    remote: list[RemoteConfig] = Field(default_factory=list)  # stores on NATS JetStream ([[remote]])

    @field_validator("max_line_bytes")
    @classmethod
    def _bounded_lines(cls, value: int) -> int:
        if value > MAX_LINE_BYTES:
            raise ValueError(f"{value:,} is over the {MAX_LINE_BYTES:,} bytes (64 MiB) astra-ls reads as one "
                             "line (a line is parsed in memory); longer lines are flagged ASTRA034 unread")
        return value

    @field_validator("severity")
    @classmethod
    def _known_severities(cls, value: dict[str, str]) -> dict[str, str]:
        for code, level in value.items():
            if code not in CODES:
                raise ValueError(f"unknown problem code {code!r}")
            Severity.parse(level)
        return value

    @field_validator("ignore")
    @classmethod
    def _known_codes(cls, value: list[str]) -> list[str]:
        unknown = [code for code in value if code not in CODES]
        if unknown:
            raise ValueError(f"unknown problem code(s) {', '.join(unknown)}")
        return value

    def rule_for(self, stream: str) -> StoreRule:
        """The first configured rule whose glob matches, else the defaults for that file name."""
        file_name = f"{stream}.jsonl"
        for rule in self.stores:
            if fnmatch(file_name, rule.glob) or fnmatch(stream, rule.glob):
                return _with_defaults(rule, stream)
        return _with_defaults(StoreRule(glob=file_name), stream)

    def apply(self, problems: list[Problem]) -> list[Problem]:
        """Drop ignored codes and re-rate severities as configured."""
        levels = {code: Severity.parse(level) for code, level in self.severity.items()}
        ignored = set(self.ignore)
        return [
            replace(p, severity=levels[p.code]) if p.code in levels else p
            for p in problems
            if p.code not in ignored
        ]

    def merged(self, overrides: dict[str, Any]) -> WorkspaceConfig:
        """This configuration with editor settings on top (the server's `astra` section)."""
        data = self.model_dump(by_alias=True)
        data.update({k: v for k, v in overrides.items() if k in WorkspaceConfig.model_fields and v is not None})
        try:
            return WorkspaceConfig.model_validate(data)
        except ValidationError as error:
            raise ConfigError(f"editor settings for astra: {_explain(error)}") from None


def _with_defaults(rule: StoreRule, stream: str) -> StoreRule:
    family = default_family(stream)
    schema = rule.schema_ or family
    projector = rule.projector or (schema if schema in ("conversation", "agent", "entity") else "generic")
    entity = schema == "entity"
    return rule.model_copy(update={
        "schema_": schema,
        "projector": projector,
        "unique_ids": (not entity) if rule.unique_ids is None else rule.unique_ids,
        "ordered_timestamps": True if rule.ordered_timestamps is None else rule.ordered_timestamps,
    })


def load_config(root: Path) -> WorkspaceConfig:
    """Read `astra-ls.toml`, else `[tool.astra-ls]` of pyproject.toml, else the defaults."""
    own = root / "astra-ls.toml"
    if own.is_file():
        return _parse(own, _read_toml(own))
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        section = _read_toml(pyproject).get("tool", {}).get("astra-ls")
        if isinstance(section, dict):
            return _parse(pyproject, section)
    return WorkspaceConfig()


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: {error}") from None
    except RecursionError:  # the TOML parser recurses into nested arrays and tables
        raise ConfigError(f"{path}: values nested too deeply to read; no astra-ls setting nests more than "
                          "a few levels") from None


def _parse(path: Path, data: dict[str, Any]) -> WorkspaceConfig:
    try:
        return WorkspaceConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(f"{path}: {_explain(error)}") from None


def _explain(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}" for e in error.errors()
    )
