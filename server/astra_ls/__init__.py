"""astra-ls: diagnostics, projections and safe appends for append-only JSONL event stores."""

__version__ = "0.1.0"
