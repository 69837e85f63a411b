"""The `astra-ls` command line."""
