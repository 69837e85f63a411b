"""Schemas written as JSON Schema files, the convention VS Code users know from `json.schemas`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import orjson

from astra_ls.schemas.base import EventSchema, FieldInfo, SchemaIssue, TypeInfo, suggest

TAG = "type"


class JsonSchemaSchema(EventSchema):
    """Validates with the schema's own draft; one `oneOf`/`anyOf` branch per event type, when it has them."""

    def __init__(self, name: str, schema: dict[str, Any]) -> None:
        self.name = name
        self._root = schema
        validator_class = jsonschema.validators.validator_for(schema)
        validator_class.check_schema(schema)
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
        return [_issue(e) for e in sorted(validator.iter_errors(event), key=lambda e: list(e.path))]

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
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            target: Any = self._root
            for part in ref[2:].split("/"):
                target = target[part]
            return self._resolve(target) if isinstance(target, dict) else node
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
            root = root.get(part, {})
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
    if error.validator == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else ""
        return SchemaIssue((*path, missing), f"missing required field '{missing}'", "missing")
    if error.validator == "additionalProperties":
        return SchemaIssue(path, f"field '{field}': {error.message}", "extra")
    expected = f"{error.validator} {error.validator_value!r}"
    return SchemaIssue(path, f"field '{field}': {error.message}", "invalid", expected=expected)
