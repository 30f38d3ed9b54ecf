"""The body of each `search` command, one module per group; `search/cli.py` lists them."""
