"""The HTML page is self-contained and, in headless Chromium, shows the figure."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from attention_nmt.report import build_report

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium binary on PATH (Debian: apt-get install -y "
    "chromium, which .ci/run does); the HTML rendering check needs one",
)
LINE_COLOURS = {"none": (31, 119, 180), "additive": (255, 127, 14)}  # matplotlib's first two colours


@pytest.fixture(scope="module")
def page(tiny_multirun, tmp_path_factory):
    return build_report([tiny_multirun], out=tmp_path_factory.mktemp("html"), resamples=50).files["html"]


def test_report_html_needs_no_other_file(page):
    html = page.read_text(encoding="utf-8")
    assert re.findall(r'(?:src|href)="(?!data:)', html) == []  # every image inline; no links, scripts or styles
    heatmaps = sorted(page.parent.glob("attention_*.png"))  # the additive arm's test sentences
    assert len(heatmaps) == 4 and html.count('src="data:image/png;base64,') == 1 + len(heatmaps)
    assert "<table>" in html and "Runs" in html


@needs_chromium
def test_report_html_renders_in_headless_chromium_with_the_figure_visible(page, tmp_path):
    shot = tmp_path / "shot.png"
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1200,1400",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shot.is_file(), done.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert (pixels.min(axis=2) < 200).mean() > 0.01  # text, tables and the figure: not a blank page
    for arm, colour in LINE_COLOURS.items():
        close = (np.abs(pixels - np.array(colour)).max(axis=2) < 30).sum()
        assert close > 100, f"the {arm} line ({colour}) is not in the screenshot: is the figure shown?"
