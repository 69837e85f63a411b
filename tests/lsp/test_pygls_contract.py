"""What lsp/protocol.py assumes of pygls, checked against the installed version; pyproject.toml pins the
range these pass on, and this file fails first when a new pygls breaks one of them."""

from __future__ import annotations

import inspect
import io
import tomllib
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp
from packaging.requirements import Requirement
from pygls.lsp.server import LanguageServer
from pygls.protocol import JsonRPCProtocol, LanguageServerProtocol

from astra_ls.lsp.protocol import AstraProtocol
from lsp_client import read_message

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


class Collect:
    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes) -> None:
        self.data += data

    def close(self) -> None:
        pass


def messages(raw: bytes) -> list[Any]:
    stream = io.BytesIO(raw)
    return list(iter(lambda: read_message(stream), None))


@pytest.mark.parametrize("name", ["pygls", "lsprotocol", "msgspec", "orjson"])
def test_the_installed_libraries_are_in_the_pinned_range(name: str) -> None:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    (requirement,) = [Requirement(d) for d in dependencies if Requirement(d).name == name]
    assert requirement.specifier.contains(version(name)), (name, version(name), str(requirement.specifier))
    assert any(spec.operator == "<" for spec in requirement.specifier), f"{name} has no upper bound"


@pytest.mark.parametrize("method", ["lsp_text_document__did_open", "lsp_text_document__did_change", "lsp_shutdown"])
def test_built_in_handlers_are_generators_registered_by_their_method_name(method: str) -> None:
    """Overriding a built-in `lsp_*` handler in a protocol_cls subclass replaces it; pygls runs the server's
    own handler from what the built-in yields."""
    built_in = getattr(LanguageServerProtocol, method)
    assert inspect.isgeneratorfunction(built_in) and isinstance(built_in.method_name, str)
    server = LanguageServer("contract", "0", protocol_cls=AstraProtocol)
    assert server.protocol.fm.builtin_features[built_in.method_name].__func__ is getattr(AstraProtocol, method)


def test_set_writer_takes_include_headers_and_the_writer_is_public() -> None:
    assert "include_headers" in inspect.signature(JsonRPCProtocol.set_writer).parameters
    server = LanguageServer("contract", "0", protocol_cls=AstraProtocol)
    out = Collect()
    server.protocol.set_writer(out, include_headers=True)
    assert server.protocol.writer is out


def test_a_late_answer_to_a_cancelled_request_is_dropped_quietly() -> None:
    server = LanguageServer("contract", "0", protocol_cls=AstraProtocol)
    protocol = server.protocol
    assert isinstance(protocol, AstraProtocol)
    out = Collect()
    protocol.set_writer(out)
    future = protocol.send_request(lsp.WINDOW_WORK_DONE_PROGRESS_CREATE, lsp.WorkDoneProgressCreateParams("t"))
    (sent,) = messages(out.data)
    future.cancel()
    answer = protocol.structure_message({"jsonrpc": "2.0", "id": sent["id"], "result": None})
    protocol.handle_message(answer)  # pygls would raise InvalidStateError setting a cancelled future


def test_params_that_do_not_fit_keep_their_cause() -> None:
    """An unfit request is told apart by pygls raising JsonRpcInvalidParams from the converter's error."""
    server = LanguageServer("contract", "0", protocol_cls=AstraProtocol)
    protocol = server.protocol
    out = Collect()
    protocol.set_writer(out)
    message = protocol.structure_message({"jsonrpc": "2.0", "id": 7, "method": lsp.TEXT_DOCUMENT_HOVER,
                                          "params": {"textDocument": 3}})
    protocol.handle_message(message)
    (answer,) = messages(out.data)
    assert answer["id"] == 7 and answer["error"]["code"] == -32602
