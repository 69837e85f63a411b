"""Hover and command messages in the editor, over stdio (issue 15.10)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pygls.exceptions import JsonRpcException

from .editor import line, message, start_editor, write_store


async def test_a_saved_open_store_is_not_called_an_unsaved_buffer(workspace: Path) -> None:
    path = write_store(workspace, "conversation", [message(1), message(2)])
    async with start_editor(workspace) as editor:
        await editor.diagnostics(path, lambda d: len(d) == 0)
        editor.open(path)
        text = await editor.hover(path, 1)
        assert "State after this event:" in text and "unsaved" not in text
        editor.edit(path, (0, 0), (0, len(message(1))), message(1, "edited"))
        assert "State after this event (unsaved buffer):" in await editor.hover(path, 1)


async def test_hovering_an_entity_id_and_a_malformed_line(workspace: Path) -> None:
    path = write_store(workspace, "customers", [line(id="c1", type="CustomerCreated", timestamp=1, name="Ada"),
                                                "{broken"])
    async with start_editor(workspace) as editor:
        await editor.diagnostics(path, lambda d: len(d) == 1)
        text = await editor.hover(path, 0, 3)
        assert text.startswith("`id`: `str` (required)") and "The entity's identifier" in text
        assert "not described" not in text
        broken = await editor.hover(path, 1)
        assert broken.startswith("**ASTRA001** malformed JSON: ") and "malformed JSON: malformed JSON" not in broken


async def test_an_argument_out_of_range_says_what_it_got(workspace: Path) -> None:
    path = write_store(workspace, "conversation", [message(1)])
    async with start_editor(workspace) as editor:
        await editor.diagnostics(path, lambda d: len(d) == 0)
        with pytest.raises(JsonRpcException) as raised:
            await editor.command("astra.projectAt", {"store": path.as_uri(), "line": 0})
        assert raised.value.message.endswith("astra.projectAt: line: input should be greater than or equal to 1, "
                                             "got 0")
