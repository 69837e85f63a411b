"""The engine's vocabulary: problems, positions, line checks and store analyses (no LSP imports)."""
