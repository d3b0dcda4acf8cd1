"""The registry site as a person sees it: real headless Chromium renders the pages, and the
rendered DOM must show the registry's own numbers, with every internal link resolving."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest
from conftest import tag_message

import modelgit
from modelgit.registry import metadata

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="Debian's chromium is not installed"
)


def chromium(*args: str) -> str:
    assert CHROMIUM, "CI installs Debian's chromium (.ci/run); it is missing"
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    result = subprocess.run(
        [*command, *args], capture_output=True, text=True, timeout=120, check=True
    )
    return result.stdout


def rendered(page: Path) -> str:
    return chromium("--dump-dom", page.as_uri())


def links(dom: str, page: Path) -> list[Path]:
    found = []
    for href in re.findall(r'href="([^"#]+)', dom):
        url = urlparse(urljoin(page.as_uri(), href))
        assert url.scheme == "file", f"{page.name} links outside the site: {href}"
        found.append(Path(unquote(url.path)))
    return found


@pytest.mark.slow
def test_site_in_a_real_browser(retrained, tmp_path):
    modelgit.bump(retrained, "minor")  # churn@v0.3.0
    modelgit.promote(retrained, "churn", "0.2.0", "production")
    modelgit.deprecate(retrained, "churn", "0.1.0", message="trained on a leaked split")
    out = tmp_path / "site"
    modelgit.site(retrained, out)
    index, model_page = out / "index.html", out / "models/churn/index.html"

    dom = rendered(index)
    assert re.search(r'<a href="models/churn/v0.3.0.html">v0.3.0</a>', dom)  # latest
    assert re.search(r'<a href="models/churn/v0.2.0.html">v0.2.0</a>', dom)  # production
    page_dom = rendered(model_page)
    for version in ("0.1.0", "0.2.0", "0.3.0"):
        accuracy = metadata.parse(tag_message(retrained, f"churn@v{version}"))["metrics"][
            "accuracy"
        ]
        marked = ' <strong class="deprecated">DEPRECATED</strong>: trained on a leaked split'
        mark = re.escape(marked) if version == "0.1.0" else ""  # a deprecated row says so
        assert re.search(
            rf"v{version}</a>{mark}</td>.*?<td class=\"num\">{accuracy}</td>", page_dom
        )
    assert "<svg" in page_dom and "<title>accuracy by version</title>" in page_dom

    # Every internal link of every page resolves to a file the site holds.
    seen, queue = set(), [index]
    while queue:
        page = queue.pop()
        if page in seen or page.suffix != ".html":
            continue
        seen.add(page)
        text = page.read_text()
        for target in links(text, page):
            assert target.is_file(), f"{page.relative_to(out)} links to missing {target}"
            queue.append(target)
    assert len(seen) == 6  # index, model, lineage, three versions (the deprecated one too)
    deprecated_dom = rendered(out / "models/churn/v0.1.0.html")
    assert "churn v0.1.0 is deprecated: trained on a leaked split" in deprecated_dom

    shots = Path(os.environ.get("MODELGIT_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    for name, page in (("site-index.png", index), ("site-model.png", model_page)):
        chromium("--window-size=1200,900", f"--screenshot={shots / name}", page.as_uri())
        assert (shots / name).stat().st_size > 10_000
