"""The schema interface the engine validates against, whatever the schema is written in."""

from __future__ import annotations

# imported here, not when first needed: a module first imported while a big store is scanned is imported
# by every scanning process after their fork, a copy each, and the import machinery's pages copied too
import difflib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from astra_ls.schemas.fastpath import FastDecoder

IssueKind = Literal["unknown_type", "missing", "invalid", "extra"]
Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class SchemaIssue:
    path: Path  # where in the event: ("arguments",), ("steps", 2), () for the whole event
    message: str
    kind: IssueKind
    expected: str | None = None
    suggestion: str | None = None  # a "did you mean" for an unknown type

    @property
    def dotted(self) -> str:
        return ".".join(str(part) for part in self.path) or "(event)"

    def to_json(self) -> dict[str, Any]:
        return {"path": self.dotted, "message": self.message, "type": self.kind, "expected": self.expected}


@dataclass(frozen=True, slots=True)
class FieldInfo:
    name: str
    type: str
    required: bool
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "required": self.required, "description": self.description}


@dataclass(frozen=True, slots=True)
class TypeInfo:
    name: str
    fields: tuple[FieldInfo, ...]
    description: str = ""

    def field(self, name: str) -> FieldInfo | None:
        return next((f for f in self.fields if f.name == name), None)


class EventSchema(ABC):
    """Validates one parsed event; knows its event types when it has any."""

    name: str

    @abstractmethod
    def validate(self, event: dict[str, Any]) -> list[SchemaIssue]:
        """Every issue with the event; empty when it is valid."""

    def types(self) -> tuple[TypeInfo, ...]:
        """The event types this schema knows, in declaration order (empty: any object)."""
        return ()

    def fast_decoder(self) -> FastDecoder | None:
        """A decoder that parses and validates in one pass, or None when no exact one exists."""
        return None

    def type_info(self, name: str) -> TypeInfo | None:
        return next((t for t in self.types() if t.name == name), None)

    def common_fields(self) -> TypeInfo | None:
        """The fields every event has whatever its type, for a schema that is one model for all events."""
        return None


class GenericSchema(EventSchema):
    """Any JSON object is an event."""

    def __init__(self, name: str = "generic") -> None:
        self.name = name

    def validate(self, event: dict[str, Any]) -> list[SchemaIssue]:
        return []

    def fast_decoder(self) -> FastDecoder | None:
        from astra_ls.schemas.fastpath import generic_decoder

        return generic_decoder()


_KINDS = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "an integer",
          float: "a number", type(None): "null"}


def json_kind(value: Any) -> str:
    """How a message names the kind of a parsed JSON value ("an array", "a string", ...)."""
    return _KINDS.get(type(value), type(value).__name__)


def suggest(name: str, known: list[str]) -> str | None:
    matches = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if matches:
        return matches[0]
    lowered = {k.lower(): k for k in known}
    return lowered.get(name.lower())


def skeleton(info: TypeInfo) -> dict[str, Any]:
    """A prefilled event of this type: required fields with placeholder values of the right kind."""
    placeholders = {"str": "", "int": 0, "float": 0, "bool": False, "list": [], "dict": {}, "object": {}}
    event: dict[str, Any] = {"type": info.name}
    for f in info.fields:
        if f.name == "type" or not f.required:
            continue
        if f.name == "timestamp":
            event[f.name] = 0
            continue
        base = f.type.split("[")[0].split(" ")[0]
        literal = f.type.startswith("'") and f.type.split(" | ")[0].strip("'")
        event[f.name] = literal if literal else placeholders.get(base)
    return event
