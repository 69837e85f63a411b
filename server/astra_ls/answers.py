"""The shapes of the commands' answers, as models: the one source of the protocol's documentation.

Commands build plain JSON-native dicts (cheap, and the CLI prints them as they are); these models say what
those dicts hold. `scripts/gen_protocol.py` turns them and the argument models of `commands.py` into the
extension's `core/protocol.ts` and the table of `docs/protocol.md`, and tests/cli/test_answers.py checks
real answers against them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Failure(_Answer):
    """Every ordinary failure has this shape; `ok: false` is how it is told apart."""

    ok: Literal[False]
    code: str = Field(description="Stable code, e.g. INVALID_EVENT, STORE_NOT_FOUND.")
    message: str = Field(description="What is wrong and what to do, for a person.")
    details: dict[str, Any] = Field(default_factory=dict)


class TimeField(_Answer):
    field: str = Field(description="Where events keep their time (a dotted path reaches into objects).")
    format: Literal["iso8601", "epoch_ms", "epoch_s", "mixed"] | None = Field(
        description="As declared (time_format), else as the first events write it; null: none has a time.")
    detected: bool = Field(description="The format was detected, not declared.")
    untimed: int = Field(description="Events without a readable time (left out of time ranges and timelines).")


class StoreFields(_Answer):
    """Where the store's events keep the facts astra-ls reads from them."""

    type: str
    id: str
    time: TimeField


class StoreInfo(_Answer):
    name: str
    uri: str
    path: str
    events: int
    problems: int
    schema_: str | None = Field(alias="schema", description="The schema in use.")
    projector: str | None = Field(description="The projector in use.")
    schemaOrigin: Literal["configured", "name", "content"] | None = Field(
        default=None, description="configured; name: the family the file name implies; content: the name "
                                  "implies a family the first events are not of, so generic.")
    skipped: list[str] | None = Field(
        default=None, description="Configured schema/projector references not in use (e.g. workspace code in "
                                  "an untrusted workspace): the built-in ones are used instead.")
    fields: StoreFields | None = None
    remote: bool | None = Field(default=None, description="Present (true) for remote stores.")
    remoteName: str | None = None


class SkippedEntry(_Answer):
    """An entry named like a store that is not one (a FIFO, a folder or a link named *.jsonl, an unusable
    name, a store that cannot be read, a remote store of an untrusted workspace), and why."""

    path: str
    reason: str


class ListStoresAnswer(_Answer):
    ok: Literal[True]
    stores: list[StoreInfo]
    skipped: list[SkippedEntry] = Field(default_factory=list, description="Entries not listed, and why.")


class AppendAnswer(_Answer):
    ok: Literal[True]
    path: str = Field(description="The store file, or the astra-remote: URI of a remote stream.")
    line: int | None = Field(description="1-based line of the event; null only when a remote append was stored "
                                         "but could not be read back.")
    count: int | None = Field(description="Events in the store after the append (null as for line).")
    sequence: int | None = Field(default=None, description="Remote stores: the JetStream sequence.")
    duplicate: bool | None = Field(default=None, description="True when nothing was added: the very same event "
                                   "(id and bytes) was there already (an earlier attempt had landed).")


class FieldError(_Answer):
    """One field-level validation error of a refused append. `path` locates the field."""

    path: str | list[str | int]
    message: str
    type: str | None = None
    expected: Any = None


class CountAnswer(_Answer):
    ok: Literal[True]
    count: int
    byType: dict[str, int]
    fields: StoreFields
    archivedEvents: int | None = Field(default=None, description="With `all`: events read from the archives.")
    archives: list[str] | None = Field(default=None, description="With `all`: the archives read, oldest first.")
    archiveUnreadable: str | None = Field(default=None, description="An archive that could not be read, and why.")


class ProjectAnswer(_Answer):
    ok: Literal[True]
    state: Any
    line: int | None = Field(description="1-based line the state is after (0: before any line); null when "
                                         "that event is archived (see archive, archiveLine).")
    events: int
    timestamp: Any = None
    outOfOrder: bool = Field(description="Some event's timestamp is earlier than the one before it.")
    outOfOrderEvents: int
    skippedEvents: int | None = Field(default=None, description="By timestamp: events before the last one folded "
                                                                "that were left out (later, or no time).")
    archive: str | None = None
    archiveLine: int | None = None
    archiveUnreadable: str | None = None


class QueriedEvent(_Answer):
    line: int | None = Field(description="1-based line; null for an archived event (see archive, archiveLine).")
    event: dict[str, Any]
    store: str | None = Field(default=None, description="With `stores`: the event's store.")
    text: str | None = Field(default=None, description="With `text`: the event's exact line.")
    archive: str | None = None
    archiveLine: int | None = None


class QueryAnswer(_Answer):
    ok: Literal[True]
    total: int
    events: list[QueriedEvent]
    untimed: int | None = Field(default=None, description="With a time range: events of the type asked for "
                                                          "that were left out for having no time.")
    stores: list[str] | None = Field(default=None, description="With `stores`: the stores queried.")


class TracedEvent(_Answer):
    line: int
    timestamp: float
    event: dict[str, Any]


class TraceAnswer(_Answer):
    ok: Literal[True]
    decision: TracedEvent
    windowMs: float
    context: list[TracedEvent] = Field(description="The latest `limit` events with an earlier time, in time order.")
    contextTotal: int
    outcomes: list[TracedEvent] = Field(description="The first `limit` events in the window, in time order.")
    outcomesTotal: int
    stateBefore: Any
    stateAfter: Any
    markdown: str | None = Field(default=None, description="With `markdown`: the trace as a document.")


class QuarantineAnswer(_Answer):
    ok: Literal[True]
    moved: int
    quarantinePath: str
    remaining: int


class CompactAnswer(_Answer):
    ok: Literal[True]
    path: str
    archivePath: str
    compactedEvents: int
    keptEvents: int


class UpcastAnswer(_Answer):
    ok: Literal[True]
    path: str
    archivePath: str | None = Field(description="Where the original went; null when every event was current.")
    events: int
    upcastEvents: int = Field(description="Events rewritten at their current version.")
    upcastFrom: dict[str, int] = Field(description='How many came from each version, by "Type vN".')


class SchemaField(_Answer):
    name: str
    type: str
    required: bool
    description: str | None = None


class EventTypeSchema(_Answer):
    name: str
    description: str | None = None
    fields: list[SchemaField]
    skeleton: dict[str, Any] | None = None


class SchemaAnswer(_Answer):
    ok: Literal[True]
    family: str
    types: list[EventTypeSchema]


class TimelineBucket(_Answer):
    start: float
    end: float
    byType: dict[str, int]


class TimelineAnswer(_Answer):
    ok: Literal[True]
    start: float | None = Field(description="Epoch ms of the first timed event (null: none).")
    end: float | None
    types: list[str]
    buckets: list[TimelineBucket]
    untimed: int = Field(description="Events in no bucket for having no time.")


class ConvertAnswer(_Answer):
    ok: Literal[True]
    path: str
    changed: bool = Field(description="false: already UTF-8 (and LF, when asked); nothing was archived.")
    archivePath: str | None = Field(description="The original, byte for byte, in .astra/archive/.")
    from_: str = Field(alias="from", description="The encoding found, e.g. 'UTF-16 LE with a byte-order mark'.")
    to: Literal["UTF-8"]
    crlfConverted: int = Field(description="CR LF pairs made LF.")


class DiffEnd(_Answer):
    line: int = Field(description="1-based line the state is after (0: before any line).")
    events: int
    timestamp: Any = None


class DiffAnswer(_Answer):
    ok: Literal[True]
    from_: DiffEnd = Field(alias="from")
    to: DiffEnd
    patch: list[dict[str, Any]] = Field(description="RFC 6902 operations turning `before` into `after`.")
    before: Any
    after: Any


class SeekAnswer(_Answer):
    ok: Literal[True]
    line: int | None = Field(description="1-based line of the event found; null when there is none.")
    lines: int = Field(description="Lines in the store.")
    events: int = Field(description="Events the step goes through (of the type, when one is given).")
    types: list[str] = Field(description="Event types present, for the type filter.")


class LinkedEvent(_Answer):
    store: str
    uri: str
    line: int
    event: Any
    role: str | None = Field(default=None, description="parent or causation: the link that was followed.")
    depth: int | None = None
    parentLine: int | None = None
    parentStore: str | None = None


class RelatedAnswer(_Answer):
    ok: Literal[True]
    event: LinkedEvent
    ancestors: list[LinkedEvent] = Field(description="From the event's parent up to the root.")
    descendants: list[LinkedEvent] = Field(description="The tree below, breadth first.")
    correlationId: Any = None
    correlated: list[LinkedEvent]
    fields: dict[str, str] = Field(description="The link fields used: id, parent, causation, correlation.")


class ShowEventAnswer(_Answer):
    ok: Literal[True]
    line: int
    text: str = Field(description="The line exactly as stored (undecodable bytes as U+FFFD).")
    event: Any = Field(description="The line's JSON object, or null when it holds none.")
    problems: list[dict[str, Any]]


class StoreChanged(_Answer):
    """Payload of the server's `astra/storeChanged` notification."""

    uri: str
    events: int
    problems: int


ANSWERS: dict[str, type[BaseModel]] = {
    "astra.listStores": ListStoresAnswer,
    "astra.append": AppendAnswer,
    "astra.count": CountAnswer,
    "astra.project": ProjectAnswer,
    "astra.projectAt": ProjectAnswer,
    "astra.query": QueryAnswer,
    "astra.traceDecision": TraceAnswer,
    "astra.quarantine": QuarantineAnswer,
    "astra.compact": CompactAnswer,
    "astra.upcast": UpcastAnswer,
    "astra.schemaFor": SchemaAnswer,
    "astra.timeline": TimelineAnswer,
    "astra.convertEncoding": ConvertAnswer,
    "astra.diff": DiffAnswer,
    "astra.seek": SeekAnswer,
    "astra.related": RelatedAnswer,
    "astra.showEvent": ShowEventAnswer,
}

# Models the protocol names besides the answers (exported by name to the extension).
OTHERS: tuple[type[BaseModel], ...] = (Failure, FieldError, StoreChanged)
