"""A msgspec decoder derived from the pydantic models: parses and validates valid lines in one C pass.

Only models whose field types map exactly are derived; anything else keeps the pydantic path, so a
line the fast decoder accepts is always one pydantic accepts too. Lines it rejects go to the slow,
precise path for their diagnostics.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

import msgspec
from pydantic import BaseModel

_SCALARS: dict[Any, Any] = {str: str, int: int, float: float, bool: bool, Any: Any, type(None): None}


class Unsupported(Exception):
    """A field type without an exact msgspec equivalent."""


@dataclass(frozen=True, slots=True)
class FastDecoder:
    decoder: msgspec.json.Decoder[Any]
    tagged: bool
    structs: tuple[type[msgspec.Struct], ...] = ()

    def type_name(self, event: Any) -> str | None:
        name = type(event).__struct_config__.tag if self.tagged else getattr(event, "type", None)
        return name if isinstance(name, str) else None


def _convert(annotation: Any) -> Any:
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is typing.Annotated:
        if any(not isinstance(meta, str) and type(meta).__name__ != "FieldInfo" for meta in args[1:]):
            raise Unsupported(annotation)
        return _convert(args[0])
    if origin is Literal and all(isinstance(a, str) for a in args):
        return annotation
    if origin in (Union, types.UnionType):
        converted = tuple(_convert(a) for a in args)
        return Union[converted]  # noqa: UP007 - built from a runtime tuple
    if origin is list and len(args) == 1:
        return list[_convert(args[0])]  # type: ignore[misc]
    if origin is dict and len(args) == 2 and args[0] is str:
        return dict[str, _convert(args[1])]  # type: ignore[misc]
    raise Unsupported(annotation)


def _struct_for(model: type[BaseModel], tag_field: str | None) -> type[msgspec.Struct]:
    if model.model_config.get("strict") is not True or model.model_config.get("extra") == "forbid":
        raise Unsupported(model)
    if "model_post_init" in model.__dict__:  # a hook can reject what the plain field types accept
        raise Unsupported(model)
    fields: list[Any] = []
    tag: str | None = None
    for name, info in model.model_fields.items():
        if info.metadata or info.alias or info.validation_alias:
            raise Unsupported(name)
        if name == tag_field:
            literal = get_args(info.annotation)
            if get_origin(info.annotation) is not Literal or len(literal) != 1:
                raise Unsupported(name)
            tag = literal[0]
            continue
        annotation = _convert(info.annotation)
        if info.is_required():
            fields.append((name, annotation))
        elif info.default is None:
            fields.append((name, annotation, None))
        else:
            raise Unsupported(name)
    if "id" not in model.model_fields:
        fields.append(("id", Any, None))
    for name in ("timestamp", "type"):
        if name not in model.model_fields and name != tag_field:
            fields.append((name, Any, None))
    if tag_field is None:
        return msgspec.defstruct(model.__name__, fields, kw_only=True)
    return msgspec.defstruct(model.__name__, fields, kw_only=True, tag_field=tag_field, tag=tag)


def derive_decoder(models: tuple[type[BaseModel], ...], tag_field: str | None) -> FastDecoder | None:
    """An exact fast decoder for these models, or None when any of them cannot be mapped exactly."""
    if _validators_customised(models):
        return None
    try:
        structs = tuple(_struct_for(m, tag_field) for m in models)
    except Unsupported:
        return None
    target: Any = structs[0] if len(structs) == 1 else Union[structs]  # noqa: UP007
    return FastDecoder(msgspec.json.Decoder(target), tagged=tag_field is not None, structs=structs)


def _validators_customised(models: tuple[type[BaseModel], ...]) -> bool:
    """Custom validators can reject what the plain types accept: such models keep the pydantic path."""
    return any(m.__pydantic_decorators__.field_validators or m.__pydantic_decorators__.model_validators
               for m in models)


class _AnyObject(msgspec.Struct, kw_only=True):
    id: Any = None
    timestamp: Any = None
    type: Any = None


_GENERIC = FastDecoder(msgspec.json.Decoder(_AnyObject), tagged=False)


def generic_decoder() -> FastDecoder:
    return _GENERIC
