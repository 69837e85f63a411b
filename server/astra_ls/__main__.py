"""`python -m astra_ls` serves the language server over stdio; with arguments it is the CLI."""

import sys

from astra_ls.launch import main

if __name__ == "__main__":
    sys.exit(main(default="serve"))
