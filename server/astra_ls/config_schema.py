"""The JSON Schema of `astra-ls.toml`, generated from the configuration models (never written by hand).

    python -m astra_ls.config_schema [OUT]    # default: client-extension/schemas/astra-ls.schema.json

Editors validate and complete the file with it: the VS Code extension contributes it through
`tomlValidation` (Even Better TOML), and any editor using taplo can point at it. Draft-07, which TOML tools
support widely; a test fails when the shipped file no longer matches the models.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from astra_ls.config import WorkspaceConfig

SHIPPED = Path(__file__).resolve().parents[2] / "client-extension" / "schemas" / "astra-ls.schema.json"


def config_json_schema() -> dict[str, Any]:
    schema = WorkspaceConfig.model_json_schema(by_alias=True, ref_template="#/definitions/{model}")
    definitions = schema.pop("$defs", {})
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://github.com/astra-ls/astra-ls/schemas/astra-ls.schema.json",
        **schema,
        "title": "astra-ls.toml",
        "description": "Configuration of astra-ls for a workspace's .astra/ event stores.",
        **({"definitions": definitions} if definitions else {}),
    }


def render() -> str:
    return json.dumps(config_json_schema(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else SHIPPED
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(), encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
