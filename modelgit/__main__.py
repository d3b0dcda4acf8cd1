"""`python -m modelgit` runs the CLI."""

from modelgit.cli import main

main()
