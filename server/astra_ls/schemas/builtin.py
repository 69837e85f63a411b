"""The built-in event families. Strict models: JSON numbers stay numbers, strings stay strings."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Timestamp = Annotated[float, Field(description="Epoch milliseconds (UTC) when the event happened.")]


class Event(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


# --- conversation ---------------------------------------------------------------------------------


class ConversationStarted(Event):
    """A user opened a conversation with a model."""

    type: Literal["ConversationStarted"]
    timestamp: Timestamp
    userId: str = Field(description="Who started the conversation.")
    sessionId: str = Field(description="The client session the conversation belongs to.")
    model: str = Field(description="The model answering in this conversation.")


class UserMessageSent(Event):
    """The user sent a message."""

    type: Literal["UserMessageSent"]
    timestamp: Timestamp
    content: str = Field(description="The message text.")
    attachments: list[Any] | None = Field(default=None, description="Files or references sent with it.")


class AssistantStreamStarted(Event):
    """The assistant began streaming an answer."""

    type: Literal["AssistantStreamStarted"]
    timestamp: Timestamp
    model: str = Field(description="The model producing the stream.")
    promptTokens: int = Field(description="Tokens in the prompt.")


class AssistantTokenGenerated(Event):
    """One streamed token of the assistant's answer."""

    type: Literal["AssistantTokenGenerated"]
    timestamp: Timestamp
    token: str = Field(description="The token's text.")
    index: int = Field(description="Position of the token in the stream, from 0.")


class AssistantStreamCompleted(Event):
    """The assistant finished its answer."""

    type: Literal["AssistantStreamCompleted"]
    timestamp: Timestamp
    totalTokens: int = Field(description="Tokens generated in the stream.")
    finishReason: str = Field(description="Why generation stopped (stop, length, ...).")
    latencyMs: float = Field(description="Time from stream start to completion.")


class GenerationCancelled(Event):
    """The answer was cut short; its partial text is kept, marked cancelled."""

    type: Literal["GenerationCancelled"]
    timestamp: Timestamp
    tokensGenerated: int = Field(description="Tokens generated before the cancellation.")
    reason: Literal["user", "timeout", "error"] = Field(description="Who or what cancelled it.")


class FeedbackGiven(Event):
    """The user rated a message."""

    type: Literal["FeedbackGiven"]
    timestamp: Timestamp
    messageIndex: int = Field(description="Index of the rated message in the conversation.")
    rating: Literal["positive", "negative"] = Field(description="The rating.")
    comment: str | None = Field(default=None, description="Optional free text.")


class ToolCallRequested(Event):
    """The assistant asked for a tool to be run."""

    type: Literal["ToolCallRequested"]
    timestamp: Timestamp
    toolName: str = Field(description="The tool to run.")
    arguments: dict[str, Any] = Field(description="The tool's arguments, as a JSON object.")


class ToolCallCompleted(Event):
    """A tool returned its result."""

    type: Literal["ToolCallCompleted"]
    timestamp: Timestamp
    toolName: str = Field(description="The tool that ran.")
    result: Any = Field(description="What the tool returned.")
    durationMs: float = Field(description="How long the tool ran.")


CONVERSATION_EVENTS: tuple[type[Event], ...] = (
    ConversationStarted,
    UserMessageSent,
    AssistantStreamStarted,
    AssistantTokenGenerated,
    AssistantStreamCompleted,
    GenerationCancelled,
    FeedbackGiven,
    ToolCallRequested,
    ToolCallCompleted,
)

# --- agent -----------------------------------------------------------------------------------------


class TaskReceived(Event):
    """The agent was given a task."""

    type: Literal["TaskReceived"]
    timestamp: Timestamp
    taskDescription: str = Field(description="What the agent was asked to do.")
    constraints: list[str] = Field(description="Rules the agent must respect.")


class PlanCreated(Event):
    """The agent planned its steps."""

    type: Literal["PlanCreated"]
    timestamp: Timestamp
    steps: list[str] = Field(description="The planned steps, in order.")
    estimatedDuration: float = Field(description="Estimated duration in milliseconds.")


class StepStarted(Event):
    """The agent started a step of its plan."""

    type: Literal["StepStarted"]
    timestamp: Timestamp
    stepIndex: int = Field(description="Index of the step in the plan, from 0.")
    description: str = Field(description="What the step does.")


class ToolInvoked(Event):
    """The agent invoked a tool."""

    type: Literal["ToolInvoked"]
    timestamp: Timestamp
    tool: str = Field(description="The tool invoked.")
    input: dict[str, Any] = Field(description="The tool's input, as a JSON object.")


class ToolResultReceived(Event):
    """A tool answered the agent."""

    type: Literal["ToolResultReceived"]
    timestamp: Timestamp
    tool: str = Field(description="The tool that answered.")
    output: Any = Field(description="What the tool returned.")
    success: bool = Field(description="Whether the tool succeeded.")


class ReplanningTriggered(Event):
    """The agent threw away the rest of its plan and made a new one."""

    type: Literal["ReplanningTriggered"]
    timestamp: Timestamp
    reason: str = Field(description="Why the plan changed.")
    newSteps: list[str] = Field(description="The steps that replace the remaining plan.")


class TaskCompleted(Event):
    """The agent finished its task."""

    type: Literal["TaskCompleted"]
    timestamp: Timestamp
    result: Any = Field(description="The task's result.")
    totalSteps: int = Field(description="Steps executed.")
    totalDurationMs: float = Field(description="Time from task to completion.")


AGENT_EVENTS: tuple[type[Event], ...] = (
    TaskReceived,
    PlanCreated,
    StepStarted,
    ToolInvoked,
    ToolResultReceived,
    ReplanningTriggered,
    TaskCompleted,
)

# --- entity ----------------------------------------------------------------------------------------


class EntityEvent(Event):
    """A change to an entity (a customer, a hire, a runway entry, a piece of feedback)."""

    id: str = Field(description="The entity's identifier; later events with the same id merge into it.")
