"""Event versions and upcasting: an old event brought to its type's current shape, step by step.

As in the `eventsourcing` library (`class_version`, `upcast_vX_vY`): an event carries its version in a
field (`version` unless `version_field` says otherwise; none means 1), a store declares one step per
version and event type (`[[stores.upcast]]`: from N to N+1), and a reader applies the steps from the
event's version to the newest one. A step renames or moves fields (dotted paths), maps enum values,
sets defaults, in that order, then calls a trusted `package.module:function(event) -> event`. Checking
validates the upcast event; projections, time travel and queries see it; `astra-ls upcast` writes it.
A store that declares no steps is read exactly as before, at no cost.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Union

import msgspec
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from astra_ls.projections.base import Edit, Event, Projector, State
from astra_ls.schemas.base import EventSchema, SchemaIssue, TypeInfo
from astra_ls.trust import import_reference

if TYPE_CHECKING:
    from astra_ls.schemas.fastpath import FastDecoder

DEFAULT_VERSION_FIELD = "version"
Dotted = tuple[str, ...]


class UpcastRule(BaseModel):
    """One `[[stores.upcast]]` table: how events of `type` at version `from` become version `to`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    type: str = Field(min_length=1, description="The event type this step upgrades.")
    from_: int = Field(alias="from", ge=1, description="The version it reads.")
    to: int | None = Field(default=None, description="The version it writes: from + 1.")
    rename: dict[str, str] = Field(default_factory=dict, description="Old field path -> new field path.")
    move: dict[str, str] = Field(default_factory=dict, description="Field path -> path inside an object.")
    map: dict[str, dict[str, Any]] = Field(default_factory=dict, description="Field path -> {old: new value}.")
    default: dict[str, Any] = Field(default_factory=dict, description="Field path -> value when absent.")
    function: str | None = Field(default=None, description="Trusted package.module:function(event) -> event.")

    @model_validator(mode="after")
    def _one_version_at_a_time(self) -> UpcastRule:
        if self.to is None:
            self.to = self.from_ + 1
        elif self.to != self.from_ + 1:
            raise ValueError(f"upcast of {self.type!r} from {self.from_} to {self.to}: a step goes from one "
                             "version to the next (to = from + 1); chain several steps")
        return self

    @field_validator("rename", "move")
    @classmethod
    def _moves(cls, value: dict[str, str]) -> dict[str, str]:
        for old, new in value.items():
            _dotted(old), _dotted(new)
        return value

    @field_validator("map", "default")
    @classmethod
    def _fields(cls, value: dict[str, Any]) -> dict[str, Any]:
        for path in value:
            _dotted(path)
        return value


def _dotted(path: str) -> Dotted:
    parts = tuple(path.split("."))
    if not path or any(not part for part in parts):
        raise ValueError(f"{path!r} is not a field path (keys joined by dots)")
    return parts


class UpcastError(Exception):
    """An event that cannot be brought to its current version (the message says why)."""


@dataclass(frozen=True, slots=True)
class Step:
    moves: tuple[tuple[Dotted, Dotted], ...]  # renames and moves, in declaration order
    maps: tuple[tuple[Dotted, dict[str, Any]], ...]
    defaults: tuple[tuple[Dotted, Any], ...]
    function: Callable[[dict[str, Any]], Any] | None
    reference: str | None

    def apply(self, event: dict[str, Any]) -> dict[str, Any]:
        for old, new in self.moves:
            found = _pop(event, old)
            if found is not _MISSING:
                _put(event, new, found)
        for path, table in self.maps:
            value = _get(event, path)
            if isinstance(value, str) and value in table:
                _put(event, path, copy.deepcopy(table[value]))
        for path, value in self.defaults:
            if _get(event, path) is _MISSING:
                _put(event, path, copy.deepcopy(value))
        if self.function is not None:
            try:
                result = self.function(event)
            except Exception as error:
                raise UpcastError(f"upcaster {self.reference} failed: {type(error).__name__}: {error}") from None
            if not isinstance(result, dict):
                raise UpcastError(f"upcaster {self.reference} returned {type(result).__name__}, not an event")
            event = result
        return event


_MISSING: Any = object()


def _get(event: Any, path: Dotted) -> Any:
    node = event
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _pop(event: dict[str, Any], path: Dotted) -> Any:
    parent = _get(event, path[:-1]) if len(path) > 1 else event
    if not isinstance(parent, dict) or path[-1] not in parent:
        return _MISSING
    return parent.pop(path[-1])


def _put(event: dict[str, Any], path: Dotted, value: Any) -> None:
    node = event
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[path[-1]] = value


class Upcaster:
    """The steps of one store: per event type, the step from each old version to the next."""

    def __init__(self, field: str, steps: dict[str, dict[int, Step]]) -> None:
        self.field = field
        self.steps = steps
        self.current = {kind: max(by_from) + 1 for kind, by_from in steps.items()}
        self.first = {kind: min(by_from) for kind, by_from in steps.items()}

    def version_of(self, event: dict[str, Any]) -> int:
        found = event.get(self.field, _MISSING)
        if found is _MISSING:
            return 1
        if isinstance(found, bool) or not isinstance(found, int) or found < 1:
            raise UpcastError(f"field {self.field!r} must be a version number (1, 2, ...), not {found!r}")
        return found

    def upcast(self, event: dict[str, Any]) -> tuple[dict[str, Any], int | None]:
        """The event at its type's current version (a copy when it changed), and the version it came
        from (None when it was current already)."""
        kind = event.get("type")
        by_from = self.steps.get(kind) if isinstance(kind, str) else None
        if by_from is None or not isinstance(kind, str):
            return event, None
        version, current = self.version_of(event), self.current[kind]
        if version == current:
            return event, None
        if version > current:
            raise UpcastError(f"version {version} of {kind!r} is newer than the newest this store declares "
                              f"({current}): add its upcast step to astra-ls.toml")
        if version < self.first[kind]:
            raise UpcastError(f"no upcast step of {kind!r} from version {version} (the first one is from "
                              f"{self.first[kind]})")
        upcast = copy.deepcopy(event)
        for step_from in range(version, current):
            upcast = by_from[step_from].apply(upcast)
        upcast[self.field] = current
        return upcast, version

    def upcast_or_same(self, event: Event) -> Event:
        try:
            return self.upcast(event)[0]
        except UpcastError:
            return event

    def origin_path(self, kind: str, version: int, path: tuple[str | int, ...]) -> tuple[str | int, ...]:
        """Where a field of the upcast event was in the original (renames and moves undone), so a
        problem points at what is in the line."""
        for step_from in range(self.current[kind] - 1, version - 1, -1):
            for old, new in reversed(self.steps[kind][step_from].moves):
                if path[: len(new)] == new:
                    path = (*old, *path[len(new):])
        return path


def build_upcaster(version_field: str | None, rules: list[UpcastRule], trusted: bool,
                   load: Callable[[str, bool], Any] | None = None) -> Upcaster | None:
    """The store's upcaster, or None when it declares no steps. Raises ValueError for steps that do not
    chain (a gap, two steps from one version) and UntrustedImport for Python steps in an untrusted
    workspace."""
    if not rules:
        return None
    steps: dict[str, dict[int, Step]] = {}
    for rule in rules:
        by_from = steps.setdefault(rule.type, {})
        if rule.from_ in by_from:
            raise ValueError(f"two upcast steps of {rule.type!r} from version {rule.from_}")
        function = None
        if rule.function is not None:
            loaded = (load or _no_loader)(rule.function, trusted)
            if not callable(loaded):
                raise ValueError(f"upcaster {rule.function} is not a function(event) -> event")
            function = loaded
        moves = tuple((_dotted(old), _dotted(new)) for old, new in [*rule.rename.items(), *rule.move.items()])
        by_from[rule.from_] = Step(moves, tuple((_dotted(p), t) for p, t in rule.map.items()),
                                   tuple((_dotted(p), v) for p, v in rule.default.items()), function, rule.function)
    for kind, by_from in steps.items():
        versions = sorted(by_from)
        if versions != list(range(versions[0], versions[-1] + 1)):
            missing = sorted(set(range(versions[0], versions[-1] + 1)) - set(versions))
            raise ValueError(f"upcast steps of {kind!r} skip version(s) {', '.join(map(str, missing))}: "
                             "declare a step from each version to the next")
    return Upcaster(version_field or DEFAULT_VERSION_FIELD, steps)


def _no_loader(reference: str, trusted: bool) -> Any:
    raise ValueError(f"upcaster {reference}: Python upcasters need a workspace to import from")


def workspace_loader(root: Any) -> Callable[[str, bool], Any]:
    return lambda reference, trusted: import_reference(reference, root, trusted)


class UpcastingSchema(EventSchema):
    """The store's schema, applied to each event after upcasting; issues say which version was checked.
    Event types with steps are never taken by the fast decoder: it would check them as they are written."""

    def __init__(self, inner: EventSchema, upcaster: Upcaster, described: Any) -> None:
        self.inner = inner
        self.upcaster = upcaster
        self.name = inner.name
        # what the index cache keys a store's analysis by (see index_cache.schema_parts)
        kind = type(inner)
        self._root = {"schema": [kind.__module__, kind.__qualname__, getattr(inner, "_root", None)],
                      "upcast": described}
        self.models = getattr(inner, "models", ())

    def validate(self, event: dict[str, Any]) -> list[SchemaIssue]:
        try:
            upcast, version = self.upcaster.upcast(event)
        except UpcastError as error:
            return [SchemaIssue((self.upcaster.field,), str(error), "invalid")]
        issues = self.inner.validate(upcast)
        if version is None or not issues:
            return issues
        kind = str(event.get("type"))
        note = f" (validated as v{self.upcaster.current[kind]} after upcasting from v{version})"
        return [replace(issue, message=issue.message + note,
                        path=self.upcaster.origin_path(kind, version, issue.path)) for issue in issues]

    def types(self) -> tuple[TypeInfo, ...]:
        return self.inner.types()

    def fast_decoder(self) -> FastDecoder | None:
        """The inner schema's decoder without the event types that have steps: their lines fail it and
        take the precise path (upcast, then validated), the others stay as fast as without versions."""
        from astra_ls.schemas.fastpath import FastDecoder

        fast = self.inner.fast_decoder()
        if fast is None or not fast.tagged:
            return None  # untagged, it would accept an old event of a versioned type as it is
        kept = tuple(s for s in fast.structs if s.__struct_config__.tag not in self.upcaster.steps)
        if len(kept) == len(fast.structs):
            return fast
        if len(kept) < 2:  # one tagged struct alone also takes events without the tag: keep them precise
            return None
        return FastDecoder(msgspec.json.Decoder(Union[kept]), tagged=True, structs=kept)  # noqa: UP007


def events_upcast(schema: EventSchema) -> Callable[[Event], Event] | None:
    """How a reader of the store's events brings them to their current version (None: as they are)."""
    return schema.upcaster.upcast_or_same if isinstance(schema, UpcastingSchema) else None


def upcasting_projector(projector: Projector, upcaster: Upcaster) -> Projector:
    """The projector, fed upcast events (the ones checking accepted: they upcast without error)."""
    fold, shared = projector.apply, projector.apply_shared
    upcast = upcaster.upcast_or_same

    def apply(state: State, event: Event) -> State:
        return fold(state, upcast(event))

    apply_shared = None
    if shared is not None:
        def apply_shared(state: State, event: Event, edit: Edit) -> State:
            return shared(state, upcast(event), edit)

    return Projector(projector.name, projector.initial, apply, apply_shared)
