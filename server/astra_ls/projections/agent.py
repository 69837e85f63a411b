"""The agent projector: task, plan, current step, tool invocations, replans and completion."""

from __future__ import annotations

from astra_ls.projections.base import Edit, Event, State, dispatching_projector


def initial() -> State:
    return {"task": None, "constraints": [], "plan": [], "currentStep": None, "tools": [], "replans": [],
            "completed": None, "status": "idle", "events": 0}


def _task(state: State, event: Event, edit: Edit) -> None:
    state["task"], state["constraints"] = event.get("taskDescription"), list(event.get("constraints") or [])
    state["status"] = "received"


def _plan(state: State, event: Event, edit: Edit) -> None:
    state["plan"] = list(event.get("steps") or [])
    state["estimatedDuration"], state["status"] = event.get("estimatedDuration"), "planned"


def _step(state: State, event: Event, edit: Edit) -> None:
    state["currentStep"] = {"index": event.get("stepIndex"), "description": event.get("description"),
                            "startedAt": event.get("timestamp")}
    state["status"] = "running"


def _invoked(state: State, event: Event, edit: Edit) -> None:
    edit(state, "tools").append({"tool": event.get("tool"), "input": event.get("input"), "output": None,
                                 "success": None, "invokedAt": event.get("timestamp")})


def _result(state: State, event: Event, edit: Edit) -> None:
    name = event.get("tool")
    tools = edit(state, "tools")
    for index in range(len(tools) - 1, -1, -1):
        if tools[index]["tool"] == name and tools[index]["success"] is None:
            edit(tools, index).update(output=event.get("output"), success=event.get("success"))
            return
    tools.append({"tool": name, "input": None, "output": event.get("output"), "success": event.get("success")})


def _replan(state: State, event: Event, edit: Edit) -> None:
    edit(state, "replans").append({"reason": event.get("reason"), "at": event.get("timestamp")})
    done = (state["currentStep"] or {}).get("index")
    kept = state["plan"][: done + 1] if isinstance(done, int) else []
    state["plan"] = kept + list(event.get("newSteps") or [])


def _completed(state: State, event: Event, edit: Edit) -> None:
    state["completed"] = {k: event.get(k) for k in ("result", "totalSteps", "totalDurationMs", "timestamp")}
    state["status"], state["currentStep"] = "completed", None


_HANDLERS = {
    "TaskReceived": _task,
    "PlanCreated": _plan,
    "StepStarted": _step,
    "ToolInvoked": _invoked,
    "ToolResultReceived": _result,
    "ReplanningTriggered": _replan,
    "TaskCompleted": _completed,
}

PROJECTOR = dispatching_projector("agent", initial, _HANDLERS)
