"""Projectors by configured name: built-in ones, or `package.module:function` in trusted workspaces."""

from __future__ import annotations

from pathlib import Path

from astra_ls.projections import agent, conversation, entity, generic
from astra_ls.projections.base import Projector, function_projector
from astra_ls.trust import import_reference

BUILTIN: dict[str, Projector] = {p.name: p for p in (conversation.PROJECTOR, agent.PROJECTOR,
                                                     entity.PROJECTOR, generic.PROJECTOR)}


class ProjectorError(Exception):
    """A projector reference that cannot be used; the message says why."""


def load_projector(reference: str, root: Path, trusted: bool) -> Projector:
    if reference in BUILTIN:
        return BUILTIN[reference]
    if ":" not in reference:
        raise ProjectorError(f"projector {reference!r}: use one of {', '.join(BUILTIN)} or package.module:function")
    try:
        target = import_reference(reference, root, trusted)
    except Exception as error:
        raise ProjectorError(f"projector {reference}: {error}") from None
    if isinstance(target, Projector):
        return target
    if callable(target):
        return function_projector(reference, target)
    raise ProjectorError(f"projector {reference}: not a function(state, event) -> state")
