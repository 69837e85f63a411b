"""An editor for the tests: the real server over stdio, driven by pytest-lsp's client.

`start_editor(...)` launches `python -m astra_ls`, answers the server's own requests
(`client/registerCapability`, `workspace/configuration`) as an editor would, and waits with timeouts
instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

SERVER = [sys.executable, "-m", "astra_ls"]
WAIT_S = 15.0


def line(**event: Any) -> str:
    return json.dumps(event, ensure_ascii=False)


def write_store(root: Path, name: str, lines: Sequence[str | bytes], final_newline: bool = True) -> Path:
    path = root / ".astra" / f"{name}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = b"\n".join(x.encode() if isinstance(x, str) else x for x in lines)
    path.write_bytes(data + (b"\n" if final_newline and lines else b""))
    return path


def message(n: int, content: str | None = None) -> str:
    """A valid event of the conversation family (the default schema of `conversation.jsonl`)."""
    return line(id=f"m{n}", type="UserMessageSent", timestamp=1_700_000_000_000 + n * 1000,
                content=f"hello {n}" if content is None else content)


LSP_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def text_offset(text: str, line: int, character: int) -> int:
    """Code-point offset of an LSP position, computed independently of the server: lines break only at
    \r\n, \r and \n; columns are UTF-16 units, clamped to the line's content, and a column inside a
    surrogate pair moves past the pair."""
    lines = LSP_LINE.findall(text)
    if text == "" or text.endswith(("\r", "\n")):
        lines.append("")
    if line >= len(lines):
        return len(text)
    start = sum(len(piece) for piece in lines[:line])
    piece = lines[line]
    content = piece[:-2] if piece.endswith("\r\n") else piece[:-1] if piece.endswith(("\r", "\n")) else piece
    units = 0
    for index, char in enumerate(content):
        if units >= character:
            return start + index
        units += 2 if ord(char) > 0xFFFF else 1
    return start + len(content)


def plain(value: Any) -> Any:
    """pygls hands custom notification params over as named tuples: back to plain JSON values."""
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


@dataclass
class Editor:
    client: LanguageClient
    root: Path
    registrations: list[lsp.Registration] = field(default_factory=list)
    store_changes: list[dict[str, Any]] = field(default_factory=list)
    versions: dict[str, int] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)  # each open buffer's text, edited independently

    def uri(self, path: Path) -> str:
        return path.absolute().as_uri()

    async def until(self, check: Callable[[], Any], what: str, timeout: float = WAIT_S) -> Any:
        """Poll `check` until it answers something truthy; fail with `what` after `timeout`."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            result = check()
            if result:
                return result
            if asyncio.get_running_loop().time() > deadline:
                pytest.fail(f"timed out waiting for {what}")
            await asyncio.sleep(0.02)

    async def diagnostics(self, path: Path, check: Callable[[Sequence[lsp.Diagnostic]], bool],
                          what: str = "diagnostics") -> Sequence[lsp.Diagnostic]:
        uri = self.uri(path)

        def ready() -> Sequence[lsp.Diagnostic] | None:
            found = self.client.diagnostics.get(uri)
            return found if found is not None and check(found) else None

        result = await self.until(lambda: (ready(),) if ready() is not None else None, f"{what} of {path.name}")
        return result[0]  # type: ignore[no-any-return]

    def open(self, path: Path, text: str | None = None) -> str:
        uri = self.uri(path)
        self.versions[uri] = 1
        content = path.read_bytes().decode() if text is None else text
        self.texts[uri] = content
        self.client.text_document_did_open(lsp.DidOpenTextDocumentParams(
            lsp.TextDocumentItem(uri=uri, language_id="jsonl", version=1, text=content)))
        return uri

    def edit(self, path: Path, start: tuple[int, int], end: tuple[int, int], text: str) -> None:
        uri = self.uri(path)
        self.versions[uri] += 1
        change = lsp.TextDocumentContentChangePartial(
            range=lsp.Range(lsp.Position(*start), lsp.Position(*end)), text=text)
        old = self.texts[uri]
        self.texts[uri] = old[: text_offset(old, *start)] + text + old[text_offset(old, *end) :]
        self.client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]), [change]))

    def replace_all(self, path: Path, text: str) -> None:
        uri = self.uri(path)
        self.versions[uri] += 1
        self.client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
            [lsp.TextDocumentContentChangeWholeDocument(text=text)]))
        self.texts[uri] = text

    async def command(self, name: str, *arguments: Any) -> Any:
        return await asyncio.wait_for(self.client.workspace_execute_command_async(
            lsp.ExecuteCommandParams(command=name, arguments=list(arguments))), WAIT_S)

    async def hover(self, path: Path, line_no: int, character: int = 0) -> str:
        answer = await asyncio.wait_for(self.client.text_document_hover_async(lsp.HoverParams(
            lsp.TextDocumentIdentifier(self.uri(path)), lsp.Position(line_no, character))), WAIT_S)
        if answer is None:
            return ""
        assert isinstance(answer.contents, lsp.MarkupContent)
        return answer.contents.value

    def watched(self, path: Path, kind: lsp.FileChangeType) -> None:
        self.client.workspace_did_change_watched_files(lsp.DidChangeWatchedFilesParams(
            [lsp.FileEvent(uri=self.uri(path), type=kind)]))


def capabilities(*, watch: bool, pull: bool, progress: bool) -> lsp.ClientCapabilities:
    return lsp.ClientCapabilities(
        workspace=lsp.WorkspaceClientCapabilities(
            configuration=True,
            did_change_configuration=lsp.DidChangeConfigurationClientCapabilities(dynamic_registration=True),
            did_change_watched_files=lsp.DidChangeWatchedFilesClientCapabilities(dynamic_registration=watch),
            diagnostics=lsp.DiagnosticWorkspaceClientCapabilities(refresh_support=True) if pull else None,
            workspace_folders=True,
        ),
        text_document=lsp.TextDocumentClientCapabilities(
            synchronization=lsp.TextDocumentSyncClientCapabilities(did_save=True),
            diagnostic=lsp.DiagnosticClientCapabilities() if pull else None,
            publish_diagnostics=lsp.PublishDiagnosticsClientCapabilities(
                related_information=True, code_description_support=True, data_support=True,
                tag_support=lsp.ClientDiagnosticsTagOptions(value_set=[lsp.DiagnosticTag.Unnecessary])),
            hover=lsp.HoverClientCapabilities(content_format=[lsp.MarkupKind.Markdown]),
            completion=lsp.CompletionClientCapabilities(
                completion_item=lsp.ClientCompletionItemOptions(snippet_support=True)),
            code_action=lsp.CodeActionClientCapabilities(
                code_action_literal_support=lsp.ClientCodeActionLiteralOptions(
                    code_action_kind=lsp.ClientCodeActionKindOptions(value_set=[lsp.CodeActionKind.QuickFix]))),
        ),
        window=lsp.WindowClientCapabilities(work_done_progress=progress),
    )


@contextlib.asynccontextmanager
async def start_editor(root: Path, *, watch: bool = True, pull: bool = False, progress: bool = True,
                       settings: dict[str, Any] | None = None,
                       initialization_options: Any = None) -> AsyncIterator[Editor]:
    root.mkdir(parents=True, exist_ok=True)
    client = await ClientServerConfig(server_command=SERVER).start()
    assert isinstance(client, LanguageClient)
    editor = Editor(client, root)
    client.set_configuration(settings or {}, section="astra")

    @client.feature(lsp.CLIENT_REGISTER_CAPABILITY)
    def register_capability(params: lsp.RegistrationParams) -> None:
        editor.registrations.extend(params.registrations)

    @client.feature(lsp.CLIENT_UNREGISTER_CAPABILITY)
    def unregister_capability(params: lsp.UnregistrationParams) -> None:
        gone = {u.id for u in params.unregisterations}
        editor.registrations[:] = [r for r in editor.registrations if r.id not in gone]

    @client.feature("astra/storeChanged")
    def store_changed(params: Any) -> None:
        editor.store_changes.append(plain(params))

    try:
        await asyncio.wait_for(client.initialize_session(lsp.InitializeParams(
            capabilities=capabilities(watch=watch, pull=pull, progress=progress),
            root_uri=root.as_uri(),
            workspace_folders=[lsp.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
            initialization_options=initialization_options if initialization_options is not None
            else {"trusted": False},
        )), WAIT_S)
        yield editor
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.shutdown_session(), WAIT_S)
        await client.stop()
