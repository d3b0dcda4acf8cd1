"""The site's progress bar on a real pseudo-terminal: it counts pages (not bytes) and shows how
many of how many are done."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import sys
import termios

from modelgit.cli.base import progress_wanted
from modelgit.cli.pages import SITE_BAR_PAGES
from modelgit.cli.render import progress_bar


def test_the_site_bar_counts_pages_on_a_terminal(monkeypatch):
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    stream = os.fdopen(follower, "w", buffering=1)
    try:
        monkeypatch.setattr(sys, "stderr", stream)
        total = 12_602
        with progress_bar(progress_wanted(), SITE_BAR_PAGES, counting=True) as progress:
            for done in (1_000, 6_000, total):
                progress("pages", done, total)
        stream.flush()
        chunks = []
        while select.select([leader], [], [], 0.5)[0]:
            chunks.append(os.read(leader, 65536))
        drawn = b"".join(chunks).decode("utf-8", "replace")
    finally:
        stream.close()
        os.close(leader)
    assert "pages" in drawn and f"{total}/{total}" in drawn
    assert "kB" not in drawn and "/s" not in drawn  # pages, not bytes


def test_a_small_site_gets_no_bar(monkeypatch, capsys):
    with progress_bar(True, SITE_BAR_PAGES, counting=True) as progress:
        progress("pages", 6, 6)
    assert capsys.readouterr().err == ""
