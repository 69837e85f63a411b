"""Turn a configured schema reference into a schema: a family, a JSON Schema file, or workspace code."""

from __future__ import annotations

from pathlib import Path

from astra_ls.schemas.base import EventSchema
from astra_ls.schemas.families import FAMILIES, builtin_schema
from astra_ls.schemas.pydantic_schema import PydanticSchema, models_of
from astra_ls.trust import import_reference


class SchemaError(Exception):
    """A schema reference that cannot be loaded; the message names it and says why."""


def load_schema(reference: str, root: Path, trusted: bool) -> EventSchema:
    if reference in FAMILIES:
        return builtin_schema(reference)
    if reference.endswith(".json"):
        return _json_schema(reference, root)
    if ":" in reference:
        try:
            return PydanticSchema(reference, models_of(import_reference(reference, root, trusted)))
        except Exception as error:
            raise SchemaError(f"schema {reference}: {error}") from None
    raise SchemaError(f"schema {reference!r}: use a family ({', '.join(FAMILIES)}), a JSON Schema file "
                      "(*.json) or package.module:Name")


def _json_schema(reference: str, root: Path) -> EventSchema:
    from astra_ls.schemas.jsonschema_schema import JsonSchemaSchema  # jsonschema is slow to import

    path = (root / reference).resolve()
    if not path.is_relative_to(root.resolve()):
        raise SchemaError(f"schema {reference}: outside the workspace")
    try:
        return JsonSchemaSchema.from_file(path)
    except OSError as error:
        raise SchemaError(f"schema {reference}: {error.strerror or error}") from None
    except Exception as error:
        raise SchemaError(f"schema {reference}: not a valid JSON Schema ({error})") from None
