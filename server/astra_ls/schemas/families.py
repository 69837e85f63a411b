"""The built-in schema families by name, and which one a store gets when nothing is configured."""

from __future__ import annotations

from fnmatch import fnmatch
from functools import cache

from astra_ls.schemas.base import EventSchema, GenericSchema
from astra_ls.schemas.builtin import AGENT_EVENTS, CONVERSATION_EVENTS, EntityEvent
from astra_ls.schemas.pydantic_schema import PydanticSchema

FAMILIES = ("conversation", "agent", "entity", "generic")
ENTITY_STORES = ("customers", "hire", "runway", "feedback")


@cache
def builtin_schema(family: str) -> EventSchema:
    if family == "conversation":
        return PydanticSchema("conversation", CONVERSATION_EVENTS)
    if family == "agent":
        return PydanticSchema("agent", AGENT_EVENTS)
    if family == "entity":
        return PydanticSchema("entity", (EntityEvent,))
    if family == "generic":
        return GenericSchema()
    raise KeyError(f"unknown schema family {family!r}: use one of {', '.join(FAMILIES)}")


def default_family(stream: str) -> str:
    """The family a store gets by its file name when the configuration says nothing."""
    if fnmatch(stream, "conversation*"):
        return "conversation"
    if fnmatch(stream, "agent-*") or stream == "agent":
        return "agent"
    if stream in ENTITY_STORES:
        return "entity"
    return "generic"
