"""Headless Debian Chromium through Playwright, and what the tests read from Dagster's UI pages.

Never downloads a browser: a missing Chromium or Playwright is a failure with the fix in the message.
"""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1600, "height": 1000}
# The community newsletter dialog Dagster shows on loopback URLs would cover the graph.
SKIP_COMMUNITY_DIALOG = "window.localStorage.setItem('communityNux', JSON.stringify('1'));"
GRAPH_CONTAINER = "[class*='AssetGraphExplorer_svgContainer']"
# Dagster's catalog renders only the rows in view, and fills in each row's status later: read the rows
# in view once their status has loaded, then scroll the table on.
READ_CATALOG_ROWS = """() => {
  const rows = [...document.querySelectorAll("[class*='VirtualizedTable_row']")].flatMap(row => {
    const asset = row.querySelector("a[href^='/assets/']");
    if (!asset) return [];
    const group = row.querySelector("a[href^='/asset-groups~']");
    return [{key: asset.innerText.split('\\n')[0].trim(), group: group ? group.innerText.trim() : null,
             text: row.innerText}];
  });
  const loading = rows.some(r => r.text.includes('Loading...'));
  const table = document.querySelector("[class*='VirtualizedTable_container']");
  let done = true;
  if (table && !loading) {
    done = table.scrollTop + table.clientHeight >= table.scrollHeight - 2;
    table.scrollBy(0, Math.max(200, table.clientHeight - 100));
  }
  return {rows, loading, done};
}"""


@contextmanager
def chromium_page():
    """A fresh page of headless Debian Chromium at the fixed screenshot viewport."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright is not installed: `make install-dev` (it is in the dev extra).")
    executable = CHROMIUM if CHROMIUM.exists() else Path(shutil.which("chromium") or CHROMIUM)
    if not executable.exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install Debian's browser (`apt-get install chromium`; "
            ".ci/run does it). The UI test never downloads a browser."
        )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=VIEWPORT)
            context.add_init_script(SKIP_COMMUNITY_DIALOG)
            page = context.new_page()
            page.set_default_timeout(30_000)
            yield page
        finally:
            browser.close()


def catalog_rows(page, base_url: str) -> dict[str, dict]:
    """Every row of the asset catalog (/assets): asset key as shown (`fuentes / buro`) -> its group
    and the row's text (status included)."""
    page.goto(f"{base_url}/assets", wait_until="domcontentloaded")
    page.locator("a[href^='/assets/']").first.wait_for()
    rows: dict[str, dict] = {}
    for _ in range(400):
        seen = page.evaluate(READ_CATALOG_ROWS)
        if not seen["loading"]:
            rows.update({r["key"]: r for r in seen["rows"]})
            if seen["done"]:
                return rows
        page.wait_for_timeout(150)  # statuses still loading, or rows scrolled into view not drawn yet
    raise AssertionError(f"the catalog at {base_url}/assets never finished loading ({len(rows)} rows read)")


def open_global_lineage(page, base_url: str, groups: list[str]) -> set[str]:
    """Open the global asset graph, groups collapsed (the lineage between capabilities) and the whole
    graph in view; return which of `groups` the graph shows. Leaves the page framed for the README."""
    page.goto(f"{base_url}/asset-groups", wait_until="domcontentloaded")
    graph = page.locator(GRAPH_CONTAINER)
    graph.get_by_text(groups[0], exact=True).first.wait_for()  # the graph has been laid out
    # More room for the graph in the screenshot: hide the navigation and the group tree beside it.
    page.get_by_text("Hide navigation").click()
    page.locator("button:has([aria-label=panel_show_right])").first.click()
    if "expanded=" in page.url:
        page.keyboard.press("Alt+c")  # Dagster's shortcut for "Collapse all groups"
    page.wait_for_timeout(1000)  # the layout runs in a web worker
    zoom_until_fits(page)
    pan_content_to(page, centre=True)
    shown = {g for g in groups if graph.get_by_text(g, exact=True).count()}
    page.wait_for_timeout(1500)  # each group fetches its materialization status once it is in view
    for _ in range(60):  # a group still "fetching statuses" would show in the README's screenshot
        if not graph.get_by_text("fetching statuses").count():
            break
        page.wait_for_timeout(500)
    return shown


def zoom_button(page, icon: str, until, clicks: int = 30) -> None:
    """Click Dagster's zoom_in / zoom_out button until `until()` holds (or `clicks` run out)."""
    button = page.locator(f"button:has([aria-label={icon}])")
    for _ in range(clicks):
        if until():
            return
        button.click()
        page.wait_for_timeout(200)


def zoom_until_fits(page) -> None:
    content = page.locator(GRAPH_CONTAINER)  # the graph's svg, sized by the current zoom
    pane = page.locator(f"{GRAPH_CONTAINER} >> xpath=../..")  # the viewport that pans and zooms it

    def fits() -> bool:
        box, view = content.bounding_box(), pane.bounding_box()
        return box["width"] <= view["width"] * 0.96 and box["height"] <= view["height"] * 0.9

    zoom_button(page, "zoom_out", until=fits)


def pan_content_to(page, centre: bool) -> None:
    """Drag the graph's background, as a user would, until the graph sits in the centre of the pane
    (or with its top-left corner just under the toolbar); long moves go in several drags."""
    content = page.locator(GRAPH_CONTAINER)
    pane = page.locator(f"{GRAPH_CONTAINER} >> xpath=../..")
    for _ in range(12):
        box, view = content.bounding_box(), pane.bounding_box()
        if centre:
            dx = (view["x"] + view["width"] / 2) - (box["x"] + box["width"] / 2)
            dy = (view["y"] + view["height"] / 2) - (box["y"] + box["height"] / 2)
        else:
            dx, dy = view["x"] + 24 - box["x"], view["y"] + 64 - box["y"]
        if abs(dx) < 3 and abs(dy) < 3:
            return
        dx = max(-view["width"] * 0.4, min(view["width"] * 0.4, dx))
        dy = max(-view["height"] * 0.4, min(view["height"] * 0.4, dy))
        x0, y0 = background_point(page, view, dx, dy)
        page.mouse.move(x0, y0)
        page.mouse.down()
        page.mouse.move(x0 + dx, y0 + dy, steps=8)
        page.mouse.up()
        page.wait_for_timeout(300)


# True when the point shows the graph's bare background (not a node, an edge, or a toolbar over it).
IS_BACKGROUND = """([x, y]) => {
  const svg = document.querySelector("[class*='AssetGraphExplorer_svgContainer']");
  const el = document.elementFromPoint(x, y);
  return el === svg || el === svg.parentElement || el === svg.parentElement.parentElement;
}"""


def background_point(page, view: dict, dx: float, dy: float) -> tuple[float, float]:
    """A point of the pane where a drag by (dx, dy) grabs the background and stays inside the pane."""
    for fy in (0.5, 0.3, 0.7, 0.15, 0.85):
        for fx in (0.5, 0.3, 0.7, 0.1, 0.9):
            x, y = view["x"] + view["width"] * fx, view["y"] + view["height"] * fy
            inside = view["x"] < x + dx < view["x"] + view["width"] and view["y"] < y + dy < view["y"] + view["height"]
            if inside and page.evaluate(IS_BACKGROUND, [x, y]):
                return x, y
    raise AssertionError("no free background in the asset graph pane to drag it by")
