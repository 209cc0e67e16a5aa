"""Take the screenshots of every page of the app (README, docs), in Debian's Chromium.

    python docs/screenshots.py            # from the repository root; writes docs/app_*.png

The leader replay shows the newest run folder under ``runs/`` (the README's main job writes
one); without one, its screenshot shows the page's hint instead.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import sync_playwright

from mesa_adage.examples.visualization.app import PAGES
from mesa_adage.examples.visualization.browser import ROOT, launch, served

DOCS = ROOT / "docs"


def shoot(
    page,
    url: str,
    path: Path,
    wait_for: str,
    steps: int = 0,
    move: int = -1,
    panel: str = "Change theta now",
) -> None:
    """Open ``url``, wait for ``wait_for``, press Step 10 ``steps`` times, save a PNG.

    With ``move`` >= 0, slider number ``move`` of the card titled ``panel`` (theta's) jumps to
    80% of its range after the first two presses, so the charts show the agents adapting.
    """
    page.goto(url)
    page.get_by_text(wait_for).first.wait_for(timeout=60_000)
    for i in range(steps):
        if i == 2 and move >= 0:
            card = page.locator(".v-card", has_text=panel)
            slider = card.locator(".v-slider").nth(move)
            box = slider.bounding_box()
            slider.click(position={"x": box["width"] * 0.8, "y": box["height"] / 2})
            page.wait_for_timeout(500)
        page.get_by_role("button", name="Step 10").first.click()
        page.get_by_text(f"Step: {10 * (i + 1)}").first.wait_for(timeout=60_000)
    page.wait_for_timeout(1500)  # let the last charts arrive
    page.screenshot(path=str(path), full_page=True)
    print(f"wrote {path.relative_to(ROOT)}")


def main() -> None:
    """Serve the app and screenshot every page."""
    with served() as url, sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1150})
        shoot(page, f"{url}/", DOCS / "app_home.png", "Leader (outer layer)")
        for model_page in PAGES:
            path = DOCS / f"app_{model_page.slug.replace('-', '_')}.png"
            shoot(page, f"{url}/{model_page.slug}", path, "Change theta now", steps=4, move=0)
        treasury = "Treasury: set the tax level now"
        game = DOCS / "app_fiscal_game.png"
        shoot(page, f"{url}/fiscal-game", game, treasury, steps=4, move=0, panel=treasury)
        shoot(page, f"{url}/leader-replay", DOCS / "app_replay.png", "Leader replay")
        shoot(page, f"{url}/side-by-side", DOCS / "app_side_by_side.png", "Step:", steps=3)
        browser.close()


if __name__ == "__main__":
    main()
