"""`python -m modelgit` runs the CLI."""

from modelgit.cli.entry import main

main()
