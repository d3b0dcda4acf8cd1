"""verify's progress bar: on a terminal (stderr a TTY), for artifacts over 100 MB, never otherwise.

The bar is `cli.render.progress_bar`, enabled by `cli.base.progress_wanted`, with the threshold
`verify` passes (`cli.checks.VERIFY_BAR_BYTES`), driven by real rich on a real pseudo-terminal."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time

import pytest

from modelgit.cli.base import progress_wanted
from modelgit.cli.checks import VERIFY_BAR_BYTES
from modelgit.cli.render import progress_bar


def verify_bar():
    """The bar exactly as the verify command opens it."""
    return progress_bar(progress_wanted(), VERIFY_BAR_BYTES)


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch):
    """A function that puts stderr on a real pseudo-terminal and returns a function giving what
    was written to it (called in the test: pytest's capture resets sys.stderr after set-up)."""
    leader, follower = pty.openpty()
    # A terminal 100 columns wide, as a real one reports its size (a new pty says 0 x 0).
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    stream = os.fdopen(follower, "w", buffering=1)

    def written() -> str:
        stream.flush()
        chunks = []
        # The kernel hands a pty's output to the other side a moment later: wait for it.
        while select.select([leader], [], [], 0.5)[0]:
            chunks.append(os.read(leader, 65536))
        return b"".join(chunks).decode("utf-8", "replace")

    def attach():
        monkeypatch.setattr(sys, "stderr", stream)
        return written

    yield attach
    stream.close()
    os.close(leader)


def test_a_large_file_gets_a_bar_on_a_terminal(terminal):
    written = terminal()
    total = 150_000_000
    with verify_bar() as progress:
        for done in range(0, total + 1, total // 4):
            progress("models/big.bin (DVC cache)", done, total)
            time.sleep(0.15)  # hashing takes time: the bar redraws ten times a second
    assert "models/big.bin (DVC cache)" in written()


def test_small_files_get_no_bar(terminal):
    written = terminal()
    with verify_bar() as progress:
        progress("models/small.bin (DVC cache)", 100, 99_000_000)
        time.sleep(0.15)
    assert written() == ""


def test_no_bar_when_stderr_is_not_a_terminal(capsys):
    assert not progress_wanted()
    with verify_bar() as progress:
        progress("models/big.bin (DVC cache)", 150_000_000, 150_000_000)
    assert capsys.readouterr().err == ""
