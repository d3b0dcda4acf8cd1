"""The console script. It reads the arguments without typer, so that a `--remote` read starts
before the command line's imports (which take longer than the read), then runs the command."""

import gc
import sys

from modelgit.cli.arguments import remote_url


def main() -> None:
    """Console-script entry point: start a remote read early, then run the command line."""
    # Imports make tens of thousands of long-lived objects and no garbage: the collector
    # would only walk them, over and over, during the imports and the command. So it waits
    # until they are made, then leaves them out of its walks for good (gc.freeze), which
    # also spares Python's final walk over every one of them at exit (a tenth of a short
    # command's time). Whatever the command makes is collected as usual.
    gc.disable()
    url = remote_url(sys.argv[1:])
    if url:
        import modelgit

        modelgit.prefetch_remote(url)
    from modelgit.cli.run import main as run

    gc.freeze()
    gc.enable()
    try:
        run()
    finally:
        gc.freeze()
