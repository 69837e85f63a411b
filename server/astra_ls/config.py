"""One configuration for the CLI and the server: `astra-ls.toml` or `[tool.astra-ls]` in pyproject.toml."""

from __future__ import annotations

import copy
import difflib
import json
import tomllib
from dataclasses import dataclass, replace
from fnmatch import fnmatch
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from astra_ls.config_positions import KeyPath, Spot, key_spots, spot_of, syntax_error_spot
from astra_ls.core.codes import CODES, Severity
from astra_ls.core.problems import Problem, make_problem
from astra_ls.remote.settings import RemoteConfig
from astra_ls.schemas.families import default_family
from astra_ls.upcasting import UpcastRule

CONFIG_FILES = ("astra-ls.toml", "pyproject.toml")
TimeFormat = Literal["auto", "epoch_ms", "epoch_s", "iso8601"]
CONFIG_PROBLEM, UNTRUSTED_CODE = "ASTRA040", "ASTRA041"
_MAX_ROUNDS = 8  # validation rounds, each dropping what the last one refused
MAX_LINE_BYTES = 64 * 1024 * 1024  # the most `max_line_bytes` may be: memory stays bounded


class ConfigError(Exception):
    """The configuration cannot be used; the message says which file and what to change."""


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """A problem of the configuration, at a key of its file (None: the editor's settings)."""

    file: Path | None
    problem: Problem

    def text(self) -> str:
        """`file:line:col: CODE [severity] message`, as `astra-ls check` prints store problems."""
        p = self.problem
        where = f"{self.file}:{p.line + 1}:{p.start + 1}: " if self.file is not None else "editor settings: "
        return f"{where}{p.code} [{p.severity.label}] {p.message}"


@dataclass(frozen=True, slots=True)
class ConfigSource:
    """The file a configuration was read from, and where its keys are (`prefix`: its table in the file)."""

    file: Path
    spots: dict[KeyPath, Spot]
    prefix: KeyPath = ()

    def problem(self, loc: KeyPath, message: str, code: str = CONFIG_PROBLEM) -> ConfigProblem:
        spot = spot_of(self.spots, (*self.prefix, *loc))
        return ConfigProblem(self.file, make_problem(code, spot.line, spot.start, max(spot.end, spot.start + 1),
                                                     message, data={"key": _dotted(loc)}))


class StoreRule(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    glob: str = Field(description="File name glob inside .astra/, e.g. 'agent-*.jsonl'.")
    schema_: str | None = Field(default=None, alias="schema",
                                description="A family, a JSON Schema file, or package.module:Name.")
    projector: str | None = Field(default=None, description="A built-in projector or package.module:function.")
    unique_ids: bool | None = None
    ordered_timestamps: bool | None = None
    # Where this store's events keep their type, id and time (default: the workspace's); a dotted path
    # reaches into objects: `metadata.uid`.
    type_field: str | None = Field(default=None, min_length=1)
    id_field: str | None = Field(default=None, min_length=1)
    time_field: str | None = Field(default=None, min_length=1)
    time_format: TimeFormat | None = None
    # Fields that link events (dotted paths allowed): go to definition, references, `astra-ls related`.
    parent_field: str | None = Field(default=None, min_length=1,
                                     description="The field holding the parent event's id (default parentUuid).")
    causation_field: str | None = Field(default=None, min_length=1,
                                        description="The field holding the causing event's id (default causationId).")
    correlation_field: str | None = Field(default=None, min_length=1,
                                          description="The field events of one run share (default correlationId).")
    # event versions ([[stores.upcast]], see upcasting.py)
    version_field: str | None = Field(default=None, min_length=1,
                                      description="The field holding an event's version (default 'version').")
    upcast: list[UpcastRule] = Field(default_factory=list, description="Steps from each old version to the next.")


class WorkspaceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    stores: list[StoreRule] = Field(default_factory=list)
    severity: dict[str, str] = Field(default_factory=dict)
    ignore: list[str] = Field(default_factory=list)
    max_line_bytes: int = Field(default=8 * 1024 * 1024, gt=0)  # at most MAX_LINE_BYTES
    max_problems_per_file: int = Field(default=1000, gt=0)
    id_field: str = Field(default="id", min_length=1)
    time_field: str = Field(default="timestamp", min_length=1)
    type_field: str = Field(default="type", min_length=1)
    time_format: TimeFormat = "auto"  # numbers as epoch ms (epoch s when in that range), strings as ISO 8601
    remote: list[RemoteConfig] = Field(default_factory=list)  # stores on NATS JetStream ([[remote]])
    _problems: list[ConfigProblem] = PrivateAttr(default_factory=list)  # what was refused, and so not used
    _source: ConfigSource | None = PrivateAttr(default=None)

    @property
    def problems(self) -> list[ConfigProblem]:
        """What the configuration file got wrong: those keys were left out, the rest is in use."""
        return list(self._problems)

    @property
    def source(self) -> ConfigSource | None:
        return self._source

    def problem_at(self, loc: KeyPath, message: str, code: str = CONFIG_PROBLEM) -> ConfigProblem:
        if self._source is None:
            return ConfigProblem(None, make_problem(code, 0, 0, 0, message, data={"key": _dotted(loc)}))
        return self._source.problem(loc, message, code)

    def needing_trust(self) -> list[tuple[KeyPath, str]]:
        """(key, reference) of every `package.module:Name` schema or projector: workspace code."""
        found: list[tuple[KeyPath, str]] = []
        for index, rule in enumerate(self.stores):
            for key, value in (("schema", rule.schema_), ("projector", rule.projector)):
                if value is not None and ":" in value:
                    found.append((("stores", index, key), value))
        return found

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
        return self.matched_rule(stream)[1]

    def matched_rule(self, stream: str) -> tuple[int | None, StoreRule]:
        """The index in `[[stores]]` of the rule that applies (None: no rule does) and the rule."""
        file_name = f"{stream}.jsonl"
        for index, rule in enumerate(self.stores):
            if fnmatch(file_name, rule.glob) or fnmatch(stream, rule.glob):
                return index, _with_defaults(rule, stream)
        return None, _with_defaults(StoreRule(glob=file_name), stream)

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
            merged = WorkspaceConfig.model_validate(data)
        except ValidationError as error:
            raise ConfigError(f"editor settings for astra: {_explain(error)}") from None
        merged._problems, merged._source = list(self._problems), self._source
        return merged


def _with_defaults(rule: StoreRule, stream: str) -> StoreRule:
    family = default_family(stream)
    schema = rule.schema_ or family
    projector = rule.projector or default_projector(schema)
    entity = schema == "entity"
    return rule.model_copy(update={
        "schema_": schema,
        "projector": projector,
        "unique_ids": (not entity) if rule.unique_ids is None else rule.unique_ids,
        "ordered_timestamps": True if rule.ordered_timestamps is None else rule.ordered_timestamps,
    })


def default_projector(schema: str) -> str:
    return schema if schema in ("conversation", "agent", "entity") else "generic"


def load_config(root: Path) -> WorkspaceConfig:
    """Read `astra-ls.toml`, else `[tool.astra-ls]` of pyproject.toml, else the defaults.

    Never refuses the whole file for one mistake: a key that cannot be used is left out (the defaults
    apply there) and named in `problems`, at its line and column."""
    own = root / CONFIG_FILES[0]
    if own.is_file():
        return _parse(own, ())
    pyproject = root / CONFIG_FILES[1]
    if pyproject.is_file():
        return _parse(pyproject, ("tool", "astra-ls"))
    return WorkspaceConfig()


def _parse(path: Path, prefix: KeyPath) -> WorkspaceConfig:
    try:
        text = path.read_bytes().decode("utf-8")
        data: dict[str, Any] = tomllib.loads(text)
    except OSError as error:
        return _unusable(ConfigProblem(path, make_problem(CONFIG_PROBLEM, 0, 0, 1, f"cannot read the configuration: "
                                                          f"{error.strerror or error}; the defaults are used")))
    except RecursionError:  # the TOML parser recurses into nested arrays and tables
        return _unusable(ConfigProblem(path, make_problem(
            CONFIG_PROBLEM, 0, 0, 1, "values nested too deeply to read (no astra-ls setting nests more than a "
            "few levels); the defaults are used")))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        if isinstance(error, UnicodeDecodeError):
            spot, reason = Spot(0, 0, 1), "the file is not UTF-8 text"
        else:
            spot, reason = syntax_error_spot(str(error), text)
        return _unusable(ConfigProblem(path, make_problem(
            CONFIG_PROBLEM, spot.line, spot.start, max(spot.end, spot.start + 1),
            f"not valid TOML: {reason}; the defaults are used until it is fixed")))
    source = ConfigSource(path, key_spots(text), prefix)
    for part in prefix:
        section = data.get(str(part)) if isinstance(data, dict) else None
        if not isinstance(section, dict):
            return WorkspaceConfig()
        data = section
    config, problems = _validated(source, copy.deepcopy(data))
    config._problems, config._source = problems, source
    return config


def _unusable(problem: ConfigProblem) -> WorkspaceConfig:
    config = WorkspaceConfig()
    config._problems = [problem]
    return config


def _validated(source: ConfigSource, data: dict[str, Any]) -> tuple[WorkspaceConfig, list[ConfigProblem]]:
    """The configuration without the keys it cannot use, and a problem for each of those."""
    problems = _unknown_codes(source, data)
    for _ in range(_MAX_ROUNDS):
        try:
            return WorkspaceConfig.model_validate(data), problems
        except ValidationError as error:
            errors = error.errors(include_url=False)
            problems.extend(source.problem(tuple(e["loc"]), _one_error(e)) for e in errors)
            for e in errors:
                loc = tuple(e["loc"])
                _drop(data, loc[:-1] if e["type"] == "missing" else loc)
            _prune(data)
    return WorkspaceConfig(), problems


def _unknown_codes(source: ConfigSource, data: dict[str, Any]) -> list[ConfigProblem]:
    """Unknown codes in `ignore` and `[severity]`, and unknown severities, each at its own key (the rest
    of the list or table is kept)."""
    problems: list[ConfigProblem] = []
    ignore = data.get("ignore")
    if isinstance(ignore, list):
        for index, code in enumerate(ignore):
            if isinstance(code, str) and code not in CODES:
                problems.append(source.problem(("ignore",), f"ignore: unknown problem code {code!r}"
                                               f"{_hint(code, CODES)}"))
                ignore[index] = _DROPPED
    severity = data.get("severity")
    if isinstance(severity, dict):
        for code, level in list(severity.items()):
            if code not in CODES:
                problems.append(source.problem(("severity", code), f"[severity]: unknown problem code {code!r}"
                                               f"{_hint(code, CODES)}"))
                del severity[code]
            elif isinstance(level, str):
                try:
                    Severity.parse(level)
                except ValueError as error:
                    problems.append(source.problem(("severity", code), f"[severity] {code}: {error}"))
                    del severity[code]
    _prune(data)
    return problems


_DROPPED = object()


def _drop(data: Any, loc: KeyPath) -> None:
    node = data
    for part in loc[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return
    if not loc:
        return
    last = loc[-1]
    if isinstance(node, dict):
        node.pop(last, None)
    elif isinstance(node, list) and isinstance(last, int) and 0 <= last < len(node):
        node[last] = _DROPPED


def _prune(node: Any) -> None:
    if isinstance(node, dict):
        for value in node.values():
            _prune(value)
    elif isinstance(node, list):
        node[:] = [v for v in node if v is not _DROPPED]
        for value in node:
            _prune(value)


def _dotted(loc: KeyPath) -> str:
    return ".".join(str(p) for p in loc)


def _where(loc: KeyPath) -> str:
    """A key as the user wrote it: `[[stores]] #2: projector`, `max_line_bytes`."""
    if len(loc) >= 2 and isinstance(loc[1], int):
        head = f"[[{loc[0]}]] #{loc[1] + 1}"
        return f"{head}: {_dotted(loc[2:])}" if len(loc) > 2 else head
    return _dotted(loc) or "(top level)"


def _hint(word: str, known: Any) -> str:
    close = difflib.get_close_matches(word, [str(k) for k in known], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _known_keys(loc: KeyPath) -> list[str]:
    """The keys allowed where `loc` is (its last part is the key)."""
    model: type[BaseModel] = WorkspaceConfig
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        info = model.model_fields.get(str(part))
        inner = getattr(info.annotation, "__args__", ()) if info is not None else ()
        nested = next((a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if nested is None:
            return []
        model = nested
    return [info.alias or name for name, info in model.model_fields.items()]


def _one_error(error: Any) -> str:
    loc = tuple(error["loc"])
    if error["type"] == "extra_forbidden":
        key = str(loc[-1])
        known = _known_keys(loc)
        hint = _hint(key, known) or (f" (known keys: {', '.join(known)})" if known else "")
        where = f" in {_where(loc[:-1])}" if loc[:-1] else ""
        return f"unknown key {key!r}{where}{hint}; it is ignored"
    if error["type"] == "missing":
        return f"{_where(loc[:-1]) or '(top level)'}: the key {str(loc[-1])!r} is required; this entry is ignored"
    reason = str(error["msg"]).removeprefix("Value error, ")
    reason = reason[:1].lower() + reason[1:]
    try:
        got = json.dumps(error.get("input"), ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        got = repr(error.get("input"))
    return f"{_where(loc)}: {reason}, got {got[:80]}; the default is used"


def _explain(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}" for e in error.errors()
    )
