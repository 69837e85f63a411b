"""The language server: a thin translation of the engine into LSP, one module per editor feature."""
