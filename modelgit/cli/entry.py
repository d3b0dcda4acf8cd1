"""The console script. It reads the arguments without typer, so that a `--remote` read starts
before the command line's imports (which take longer than the read), then runs the command."""

import gc
import sys

from modelgit.cli.arguments import remote_url


def main() -> None:
    """Console-script entry point: start a remote read early, then run the command line."""
    # Imports make tens of thousands of objects and no garbage: the collector would only
    # walk them, over and over. At exit, frozen objects spare Python's final walk over every
    # one of them (a tenth of a short command's time); streams are flushed all the same.
    gc.disable()
    url = remote_url(sys.argv[1:])
    if url:
        import modelgit

        modelgit.prefetch_remote(url)
    from modelgit.cli.run import main as run

    gc.enable()
    try:
        run()
    finally:
        gc.freeze()
