"""Schemas written as JSON Schema files, the convention VS Code users know from `json.schemas`.

Every evaluation is bounded by the size of the line, never by what its text makes a regex do: the
keywords that match regular expressions (`pattern`, `patternProperties`, `additionalProperties` beside
them) use RE2, which runs in linear time, instead of Python's backtracking `re` (`^(a+)+$` on a 50-byte
string took hours). A pattern RE2 cannot run (lookarounds, backreferences) makes the schema a
configuration error that names it. `uniqueItems` compares items by hash instead of pairwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jsonschema
import orjson
import re2
from jsonschema.exceptions import ValidationError
from referencing.exceptions import Unresolvable

from astra_ls.config import ConfigError
from astra_ls.schemas.base import EventSchema, FieldInfo, SchemaIssue, TypeInfo, suggest

TAG = "type"
MAX_SHOWN = 200  # characters of a value quoted in a message
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a pattern it refuses is reported once, as a configuration error


class UnsupportedPattern(Exception):
    """A regular expression RE2 cannot run in linear time; the message names it and says why."""


@lru_cache(maxsize=1024)
def _regex(pattern: str) -> Any:
    try:
        return re2.compile(pattern, _RE2_OPTIONS)
    except re2.error as error:
        reason = error.args[0].decode(errors="replace") if error.args and isinstance(error.args[0], bytes) \
            else str(error)
        raise UnsupportedPattern(
            f"pattern {pattern!r} cannot be evaluated in linear time ({reason}): astra-ls runs JSON Schema "
            "patterns with RE2, which has no lookarounds or backreferences, so that no line can hang a check; "
            "rewrite the pattern without them") from None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else f"{text[:MAX_SHOWN]}… ({len(text):,} characters)"


def _pattern(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _regex(pattern).search(instance):
        yield ValidationError(f"{_shown(instance)} does not match {pattern!r}")


def _pattern_properties(validator: Any, patterns: dict[str, Any], instance: Any,
                        schema: dict[str, Any]) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        compiled = _regex(pattern)
        for key, value in instance.items():
            if compiled.search(key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(validator: Any, allowed: Any, instance: Any,
                           schema: dict[str, Any]) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    patterns = [_regex(p) for p in schema.get("patternProperties", {})]
    extras = sorted((k for k in instance if k not in properties and not any(p.search(k) for p in patterns)),
                    key=str)
    if validator.is_type(allowed, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], allowed, path=extra)
    elif not allowed and extras:
        listed = ", ".join(repr(extra) for extra in extras)
        if "patternProperties" in schema:
            verb = "does" if len(extras) == 1 else "do"
            yield ValidationError(f"{listed} {verb} not match any of the regexes: "
                                  f"{', '.join(repr(p) for p in sorted(schema['patternProperties']))}")
        else:
            verb = "was" if len(extras) == 1 else "were"
            yield ValidationError(f"Additional properties are not allowed ({listed} {verb} unexpected)")


def _unique_items(validator: Any, unique: Any, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if not unique or not validator.is_type(instance, "array"):
        return
    seen: set[bytes] = set()
    for index, item in enumerate(instance):
        key = _item_key(item)
        if key in seen:
            yield ValidationError(f"has non-unique elements (item {index} repeats an earlier one)")
            return
        seen.add(key)


def _item_key(item: Any) -> bytes:
    """Equal for items JSON Schema calls equal (object keys in any order, 1 and 1.0; true is not 1)."""
    if isinstance(item, float) and item.is_integer():
        item = int(item)
    try:
        return orjson.dumps(item, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # an integer beyond 64 bits, or deeper than orjson writes
        return repr(item).encode()


_DATA_KEYWORDS = frozenset({"enum", "const", "default", "examples"})  # values, not schemas
_BOUNDED_KEYWORDS = {"pattern": _pattern, "patternProperties": _pattern_properties,
                     "additionalProperties": _additional_properties, "uniqueItems": _unique_items}


class JsonSchemaSchema(EventSchema):
    """Validates with the schema's own draft; one `oneOf`/`anyOf` branch per event type, when it has them."""

    def __init__(self, name: str, schema: dict[str, Any]) -> None:
        self.name = name
        self._root = schema
        draft = jsonschema.validators.validator_for(schema)
        draft.check_schema(schema)
        _check_keywords(schema)
        validator_class = jsonschema.validators.extend(draft, _BOUNDED_KEYWORDS)
        self._validator = validator_class(schema)
        self._branches = self._branches_by_type()
        self._types = tuple(_type_info(tag, branch) for tag, branch in self._branches.items())

    def __reduce__(self) -> tuple[Any, ...]:
        """Rebuilt from its document in another process (a scan worker): the validator is not picklable."""
        return (JsonSchemaSchema, (self.name, self._root))

    @classmethod
    def from_file(cls, path: Path) -> JsonSchemaSchema:
        return cls(path.stem, orjson.loads(path.read_bytes()))

    def validate(self, event: dict[str, Any]) -> list[SchemaIssue]:
        validator = self._validator
        if self._branches:
            tag = event.get(TAG)
            if not isinstance(tag, str) or tag not in self._branches:
                return [self._tag_issue(tag, TAG in event)]
            validator = validator.evolve(schema=self._branches[tag])
        try:
            errors = list(validator.iter_errors(event))
        except RecursionError:  # a recursive schema walked down an event nested as deep as a line allows
            return [SchemaIssue((), "nested too deeply to be validated against the schema", "invalid")]
        except UnsupportedPattern as error:
            raise ConfigError(f"schema {self.name}: {error}") from None
        except Unresolvable as error:  # a $ref is resolved only when it is followed
            raise ConfigError(f"schema {self.name}: $ref {getattr(error, 'ref', str(error))!r} cannot be "
                              "resolved (astra-ls follows references within the schema file: '#/...')") from None
        return [_issue(e) for e in sorted(errors, key=lambda e: list(e.path))]

    def _tag_issue(self, tag: Any, present: bool) -> SchemaIssue:
        known = list(self._branches)
        expected = "one of " + ", ".join(known)
        if not present:
            return SchemaIssue((), f"missing field 'type': expected {expected}", "missing", expected=expected)
        if not isinstance(tag, str):
            return SchemaIssue((TAG,), "'type' must be a string", "invalid", expected="string")
        hint = suggest(tag, known)
        message = f"unknown event type {tag!r}" + (f": did you mean {hint!r}?" if hint else "")
        return SchemaIssue((TAG,), message, "unknown_type", expected=expected, suggestion=hint)

    def types(self) -> tuple[TypeInfo, ...]:
        return self._types

    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        """The node a chain of local `$ref`s ends at (a loop: chains may be long or circular)."""
        seen: set[int] = set()
        while isinstance(ref := node.get("$ref"), str) and ref.startswith("#/") and id(node) not in seen:
            seen.add(id(node))
            target = _pointer(self._root, ref)
            if not isinstance(target, dict):
                break
            node = target
        return node

    def _branches_by_type(self) -> dict[str, dict[str, Any]]:
        branches: dict[str, dict[str, Any]] = {}
        for key in ("oneOf", "anyOf"):
            for raw in self._root.get(key, []):
                branch = self._resolve(raw) if isinstance(raw, dict) else {}
                tag_schema = branch.get("properties", {}).get(TAG, {})
                for tag in _constants(tag_schema):
                    branches[tag] = {**raw, "$defs": self._root.get("$defs", {}),
                                     "definitions": self._root.get("definitions", {})}
        return branches


def _pointer(root: Any, ref: str) -> Any:
    """What a local `$ref` (`#/a/b`) points at; ValueError naming the ref when nothing is there."""
    target = root
    for raw in ref[2:].split("/") if ref.startswith("#/") else []:
        part = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(target, dict) and part in target:
            target = target[part]
        elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
            target = target[int(part)]
        else:
            raise ValueError(f"$ref {ref!r} points at nothing in the schema")
    return target


def _check_keywords(schema: Any) -> None:
    """Every regular expression the schema holds runs in RE2, and every `$ref` is local and points at something:
    found now, as a configuration error, instead of in the middle of a check. A loop over the document."""
    pending = [schema]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            pending.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        if isinstance(pattern := node.get("pattern"), str):
            _regex(pattern)
        if isinstance(patterns := node.get("patternProperties"), dict):
            for each in patterns:
                _regex(each)
        if isinstance(ref := node.get("$ref"), str):
            if not ref.startswith("#"):  # another file or a URL: never fetched, so it can never resolve
                raise ValueError(f"$ref {ref!r} cannot be resolved (astra-ls follows references within the "
                                 "schema file: '#/...')")
            _pointer(schema, ref)
        pending.extend(value for key, value in node.items() if key not in _DATA_KEYWORDS)


def _constants(node: Any) -> list[str]:
    if not isinstance(node, dict):
        return []
    if isinstance(node.get("const"), str):
        return [node["const"]]
    return [v for v in node.get("enum", []) if isinstance(v, str)]


def _type_info(tag: str, branch: dict[str, Any]) -> TypeInfo:
    root = branch
    ref = branch.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        for part in ref[2:].split("/"):
            root = root.get(part, {}) if isinstance(root, dict) else {}
    required = set(root.get("required", []))
    fields = tuple(
        FieldInfo(name, _label(spec), name in required, str(spec.get("description", "")))
        for name, spec in root.get("properties", {}).items()
        if isinstance(spec, dict)
    )
    return TypeInfo(tag, fields, str(root.get("description", "")))


def _label(spec: dict[str, Any]) -> str:
    names: dict[str, str] = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "array": "list",
             "object": "object", "null": "null"}
    if "const" in spec:
        return repr(spec["const"])
    if "enum" in spec:
        return " | ".join(repr(v) for v in spec["enum"])
    kind = spec.get("type", "any")
    if isinstance(kind, list):
        return " | ".join(names.get(str(k), str(k)) for k in kind)
    return names.get(kind, str(kind))


def _issue(error: jsonschema.ValidationError) -> SchemaIssue:
    path = tuple(p for p in error.absolute_path if isinstance(p, str | int))
    field = ".".join(str(p) for p in path) or "(event)"
    if len(error.message) > 4 * MAX_SHOWN:  # jsonschema quotes whole values (`enum`, `type`, ...)
        error.message = f"{error.message[:4 * MAX_SHOWN]}… ({len(error.message):,} characters)"
    if error.validator == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else ""
        return SchemaIssue((*path, missing), f"missing required field '{missing}'", "missing")
    if error.validator == "additionalProperties":
        return SchemaIssue(path, f"field '{field}': {error.message}", "extra")
    expected = f"{error.validator} {error.validator_value!r}"
    return SchemaIssue(path, f"field '{field}': {error.message}", "invalid", expected=expected)
