"""The `modelgit` command line with every command declared: the app tests and tools drive
(the console script loads only the invoked command's module, through `cli/run.py`)."""

from modelgit.cli.arguments import invoked
from modelgit.cli.base import app, funnel
from modelgit.cli.run import app_for, load_commands, main

__all__ = ["app", "app_for", "funnel", "invoked", "main"]

load_commands()
