"""The client's `initializationOptions`: one model, parsed once; a wrong field takes its default and is
reported in words the user knows (the extension's setting names are in the protocol doc)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

LogLevel = Literal["error", "warning", "info", "debug"]


class InitializationOptions(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    trusted: StrictBool = False  # workspace trust: false means no workspace code is imported
    cache_dir: str | None = Field(default=None, alias="cacheDir")  # the editor's storage folder
    index_cache: StrictBool = Field(default=True, alias="indexCache")  # false: no index cache at all
    settings: dict[str, Any] = Field(default_factory=dict)  # the `astra` settings, until they are pulled
    log_level: LogLevel = Field(default="info", alias="logLevel")  # what goes to the output panel


DEFAULTS = InitializationOptions()
_CONSEQUENCE = {"trusted": "the workspace is treated as untrusted (workspace schemas and projectors are not "
                           "imported)"}


def parse_options(raw: Any) -> tuple[InitializationOptions, list[str]]:
    """The options the client sent, and one message per field that was wrong (and so took its default)."""
    if raw is None:
        return DEFAULTS, []
    if not isinstance(raw, dict):
        return DEFAULTS, [f"initializationOptions must be an object, not {type(raw).__name__}; using the defaults"]
    fields = dict(raw)
    if fields.get("cacheDir") == "":
        del fields["cacheDir"]
    try:
        return InitializationOptions.model_validate(fields), []
    except ValidationError as error:
        wrong = {str(e["loc"][0]): e for e in error.errors() if e["loc"] and str(e["loc"][0]) in fields}
    defaults = DEFAULTS.model_dump(by_alias=True)
    problems = [f"initializationOptions.{name} {_expected(e)}, not {_json(raw[name])}; "
                f"{_CONSEQUENCE.get(name, f'using {_json(defaults.get(name))}')}" for name, e in wrong.items()]
    kept = {name: value for name, value in fields.items() if name not in wrong}
    try:
        return InitializationOptions.model_validate(kept), problems
    except ValidationError as error:  # not expected: every wrong field was left out
        return DEFAULTS, [*problems, f"initializationOptions: {error.errors()[0]['msg']}; using the defaults"]


def _expected(error: Any) -> str:
    kind = str(error.get("type", ""))
    if kind.startswith("bool"):
        return "must be true or false"
    if kind.startswith("string"):
        return "must be a string"
    if kind.startswith("dict"):
        return "must be an object"
    if kind == "literal_error":
        return "must be one of error, warning, info, debug"
    return f"is wrong ({error.get('msg', '')})"


def _json(value: Any) -> str:
    import json

    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
