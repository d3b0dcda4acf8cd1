"""`python -m modelgit` runs the CLI."""

from modelgit.cli.app import main

main()
