"""`datagen view`: the page, opened in a real headless browser (Debian's chromium, driven by Playwright;
installed by `make test-deps`)."""
import re
import shutil

import pytest
from click.testing import CliRunner

from helpers.synthetic import write_synthetic
from datagen.cli import main
from datagen.inspect.view import view_html

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@pytest.fixture
def page(tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page()
        finally:
            browser.close()


def test_page_content(tmp_path):
    f = write_synthetic(tmp_path / "r.h5", n=10, size=32)
    page = view_html(f, tile=32)
    assert page.count("<figure ") == 10 and page.count("<img ") == 10 and page.count("<svg ") == 10
    assert 'id="visibility"' in page and "&quot;test&quot;: true" in page  # the file's config
    assert "http" not in page.replace("http://www.w3.org/2000/svg", "")  # nothing fetched from anywhere
    assert view_html(f, rows="0:10:2", tile=32).count("<figure ") == 5
    assert view_html(f, limit=3, tile=32).count("<figure ") == 3


def test_page_in_headless_chromium(tmp_path, page):
    f = write_synthetic(tmp_path / "r.h5", n=12, size=32)
    out = tmp_path / "report.html"
    r = CliRunner().invoke(main, ["view", str(f), "-o", str(out), "--size", "32"])
    assert r.exit_code == 0, r.output
    assert r.output.strip() == f"wrote {out} (12 tiles)"

    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(out.as_uri())
    page.wait_for_load_state("load")
    assert errors == []
    tiles = page.locator("#tiles figure")
    assert tiles.count() == 12 and page.locator("#tiles figure:visible").count() == 12
    assert page.locator("#shown").inner_text() == "12"
    # Every thumbnail decoded.
    assert page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth === 32)")

    # Filter by clip: only that clip's rows stay.
    walk = sum(1 for i in range(12) if tiles.nth(i).get_attribute("data-clip") == "walk")
    assert 0 < walk < 12
    page.select_option("#clip", "walk")
    assert page.locator("#tiles figure:visible").count() == walk
    assert page.locator("#shown").inner_text() == str(walk)
    page.select_option("#costume", "red")
    both = page.locator("#tiles figure:visible")
    assert all(both.nth(i).get_attribute("data-costume") == "red" for i in range(both.count()))
    page.select_option("#clip", "")
    page.select_option("#costume", "")
    assert page.locator("#tiles figure:visible").count() == 12

    # The skeleton overlays switch off and on.
    assert page.locator("#tiles svg").first.is_visible()
    page.uncheck("#pose")
    assert not page.locator("#tiles svg").first.is_visible()
    page.check("#pose")
    assert page.locator("#tiles svg").first.is_visible()
    assert page.locator("#visibility tr").count() == 1 + 20  # header + avatar20's keypoints
    assert re.search(r'"test": true', page.locator("#config").inner_text())
    assert errors == []


def test_imported_page_has_no_clip_filter(tmp_path, page, imported_file):
    out = tmp_path / "i.html"
    CliRunner().invoke(main, ["view", str(imported_file), "-o", str(out)], catch_exceptions=False)
    page.goto(out.as_uri())
    assert page.locator("#clip").is_disabled() and page.locator("#tiles figure").count() == 6
    assert "img_0000.jpg" in page.locator("#tiles figcaption").first.inner_text()
