"""Schemas written as pydantic models: the built-in families and users' `package.module:Name`."""

from __future__ import annotations

import json
import types
import typing
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from astra_ls.schemas.base import EventSchema, FieldInfo, SchemaIssue, TypeInfo, json_kind, suggest
from astra_ls.schemas.fastpath import FastDecoder, derive_decoder

TAG = "type"
SHOWN_VALUE_CHARS = 40


class PydanticSchema(EventSchema):
    """One model, or several discriminated by their `type` literal."""

    def __init__(self, name: str, models: tuple[type[BaseModel], ...]) -> None:
        self.name = name
        self.models = models
        self._tagged = all(_tag_of(m) is not None for m in models)
        if len(models) > 1 and not self._tagged:
            raise ValueError(f"schema {name}: every model of a union needs a `type: Literal[...]` field")
        target: Any = models[0]
        if len(models) > 1:
            target = Annotated[Union[models], Field(discriminator=TAG)]  # noqa: UP007
        self._adapter: TypeAdapter[Any] = TypeAdapter(target)
        self._by_tag = {tag: m for m in models if (tag := _tag_of(m)) is not None}
        self._types = tuple(_type_info(m) for m in models) if self._tagged else ()
        self._common = None if self._tagged else _type_info(models[0])
        self._fast = derive_decoder(models, TAG if self._tagged else None)

    def __reduce__(self) -> tuple[Any, ...]:
        """Rebuilt from its models in another process (a scan worker): the models pickle by reference, the
        compiled decoder not at all."""
        return (PydanticSchema, (self.name, self.models))

    def validate(self, event: dict[str, Any]) -> list[SchemaIssue]:
        if self._tagged:
            tag_issue = self._check_tag(event)
            if tag_issue:
                return [tag_issue]
        try:
            self._adapter.validate_python(event)
        except ValidationError as error:
            return [_issue(e, self._tagged) for e in error.errors(include_url=False)]
        return []

    def _check_tag(self, event: dict[str, Any]) -> SchemaIssue | None:
        tag = event.get(TAG)
        known = list(self._by_tag)
        if TAG not in event:
            return SchemaIssue((), f"missing field 'type': expected one of {', '.join(known)}", "missing",
                               expected="one of " + ", ".join(known))
        if not isinstance(tag, str):
            return SchemaIssue((TAG,), f"'type' must be a string, got {json_kind(tag)}", "invalid",
                               expected="string")
        if tag not in self._by_tag:
            hint = suggest(tag, known)
            message = f"unknown event type {tag!r}" + (f": did you mean {hint!r}?" if hint else "")
            return SchemaIssue((TAG,), message, "unknown_type", expected="one of " + ", ".join(known),
                               suggestion=hint)
        return None

    def types(self) -> tuple[TypeInfo, ...]:
        return self._types

    def common_fields(self) -> TypeInfo | None:
        return self._common

    def fast_decoder(self) -> FastDecoder | None:
        return self._fast


def models_of(target: Any) -> tuple[type[BaseModel], ...]:
    """The models inside a model, a union of models, or an Annotated union (a user's `Name`)."""
    if isinstance(target, type) and issubclass(target, BaseModel):
        return (target,)
    origin = get_origin(target)
    if origin is typing.Annotated:
        return models_of(get_args(target)[0])
    if origin in (Union, types.UnionType):
        found: list[type[BaseModel]] = []
        for arg in get_args(target):
            found.extend(models_of(arg))
        return tuple(found)
    raise TypeError(f"{target!r} is neither a pydantic model nor a union of models")


def _tag_of(model: type[BaseModel]) -> str | None:
    field = model.model_fields.get(TAG)
    if field is None or get_origin(field.annotation) is not Literal:
        return None
    values = get_args(field.annotation)
    return values[0] if len(values) == 1 and isinstance(values[0], str) else None


def _type_info(model: type[BaseModel]) -> TypeInfo:
    fields = tuple(
        FieldInfo(name, type_label(info.annotation), info.is_required(), info.description or "")
        for name, info in model.model_fields.items()
    )
    return TypeInfo(_tag_of(model) or model.__name__, fields, (model.__doc__ or "").strip())


def type_label(annotation: Any) -> str:
    """A short, JSON-flavoured name for a field's type, shown in hovers and the append form."""
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is typing.Annotated:
        return type_label(args[0])
    if origin is Literal:
        return " | ".join(repr(a) for a in args)
    if origin in (Union, types.UnionType):
        return " | ".join(type_label(a) for a in args)
    if origin is list:
        return f"list[{type_label(args[0])}]" if args else "list"
    if origin is dict:
        return "object"
    if annotation is type(None):
        return "null"
    if annotation is Any:
        return "any"
    return getattr(annotation, "__name__", str(annotation))


def _issue(error: Any, tagged: bool) -> SchemaIssue:
    loc = tuple(error["loc"])
    if tagged and loc and isinstance(loc[0], str):
        loc = loc[1:]  # the discriminated union prefixes the tag
    kind = error["type"]
    path: tuple[str | int, ...] = tuple(p for p in loc if isinstance(p, str | int))
    field = ".".join(str(p) for p in path) or "(event)"
    if kind == "missing":
        return SchemaIssue(path, f"missing required field '{field}'", "missing", expected=None)
    if kind == "extra_forbidden":
        return SchemaIssue(path, f"unexpected field '{field}'", "extra")
    expected = _expected(error)
    message = f"field '{field}': {error['msg'][:1].lower()}{error['msg'][1:]}, got {shown_value(error.get('input'))}"
    return SchemaIssue(path, message, "invalid", expected=expected)


def shown_value(value: Any) -> str:
    """The offending value's kind, and the value itself when it is scalar: `a string "great"`, `a number 12`
    (long strings cut short)."""
    kind = json_kind(value)
    if value is None:
        return "null"
    if isinstance(value, str | int | float | bool):
        text = json.dumps(value, ensure_ascii=False)
        return f"{kind} {text if len(text) <= SHOWN_VALUE_CHARS else text[: SHOWN_VALUE_CHARS - 1] + '…'}"
    return kind


def _expected(error: Any) -> str:
    ctx = error.get("ctx") or {}
    if "expected" in ctx:
        return str(ctx["expected"])
    kind: str = error["type"]
    return kind.removesuffix("_type").removesuffix("_parsing")
