"""Notebooks in JupyterLab as a student opens them: every image of 00, 01, 02 and 08 loads (before and after
"Run All"), the ipywidgets controls of 01, 02 and 08 render as controls and redraw their figure when moved,
and the rendered site opens with its images. Screenshots go to runs/browser/."""
import time

import pytest

from conftest import SHOTS

# notebook -> the CSS class of the control the test moves (ipywidgets 8)
CONTROLS = {
    "01-information-bottleneck.ipynb": ".widget-hslider",
    "02-causal-iv.ipynb": ".widget-hslider",
    "08-adversarial-visualisation.ipynb": ".widget-hslider",
}


def _run_all(page, timeout_s: float = 420) -> None:
    """Run every cell through JupyterLab's own menu command and wait until the kernel is done."""
    item = page.locator('.lm-CommandPalette-item[data-command="notebook:run-all-cells"]').first
    for _ in range(10):  # JupyterLab's command palette, opened from command mode
        page.keyboard.press("Escape")
        page.keyboard.press("Control+Shift+C")
        palette = page.locator(".lm-CommandPalette-input")
        try:
            palette.wait_for(state="visible", timeout=3000)
            palette.fill("Run All Cells")
            item.wait_for(state="visible", timeout=3000)
            item.click()
            break
        except Exception:  # noqa: BLE001 - the page was not ready yet: try again
            time.sleep(2)
    else:
        raise AssertionError("could not open JupyterLab's command palette")
    deadline = time.time() + timeout_s
    time.sleep(2)
    while time.time() < deadline:
        prompts = [p.strip() for p in page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()]
        shown = [p for p in prompts if p]  # a hidden (solution) cell shows no prompt
        if shown and not any("*" in p or p == "[ ]:" for p in shown):
            return
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        failed = [t for t in errors.all_inner_texts() if "Traceback" in t or "Error" in t]
        if failed:
            raise AssertionError(f"a cell failed: {failed[0][-1500:]}")
        time.sleep(1)
    raise AssertionError(f"cells still running after {timeout_s} s")


IMAGES = "document.querySelectorAll('.jp-Notebook img, .jp-Cell img')"


def _images_loaded(page, where: str) -> int:
    """Wait until every <img> of the page has finished loading, fail naming any that did not load (natural
    width 0: a 404, a path outside the served folder, a broken data URI); return how many there are."""
    page.wait_for_function(f"() => [...{IMAGES}].every(i => i.complete)", timeout=60_000)
    broken = page.evaluate(f"() => [...{IMAGES}].filter(i => !(i.naturalWidth > 0))"
                           ".map(i => (i.getAttribute('alt') || '') + ' <' + (i.getAttribute('src') || '').slice(0, 80) + '>')")
    assert not broken, f"{where}: images that did not load: {broken}"
    return page.evaluate(f"() => {IMAGES}.length")


def _open(browser, lab, notebook):
    base, token, _ = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    stem = notebook.split(".")[0]
    page.goto(f"{base}/lab/workspaces/{stem}/tree/{notebook}?reset&token={token}")  # only this notebook open
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=120_000)
    page.locator(".jp-StatusBar-Widget", has_text="Idle").first.wait_for(timeout=120_000)  # the kernel is up
    _images_loaded(page, f"{notebook} as opened")
    return page


def test_overview_images_load(lab, browser):
    page = _open(browser, lab, "00-overview.ipynb")
    _run_all(page)
    assert _images_loaded(page, "00-overview.ipynb after Run All") >= 1, "00 should show the pipeline diagram"
    figure = page.locator(".jp-OutputArea-output img").first
    figure.scroll_into_view_if_needed()
    figure.screenshot(path=str(SHOTS / "00-pipeline.png"))
    page.close()


def _figure_after(control):
    """The PNG shown in the output area that holds `control` (the figure it redraws)."""
    area = control.locator("xpath=ancestor::div[contains(@class,'jp-OutputArea')][1]")
    img = area.locator("img").last
    img.wait_for(timeout=60_000)
    return img


@pytest.mark.parametrize("notebook", list(CONTROLS))
def test_widget_renders_and_redraws(lab, browser, notebook):
    stem = notebook.split(".")[0]
    page = _open(browser, lab, notebook)
    _run_all(page)
    _images_loaded(page, f"{notebook} after Run All")
    text = "\n".join(page.locator(".jp-OutputArea").all_inner_texts())
    assert "Error displaying widget" not in text and "Traceback" not in text
    assert "No slider here" not in text and "No sliders here" not in text  # the live path, not the headless one
    control = page.locator(CONTROLS[notebook]).first
    control.scroll_into_view_if_needed()
    assert control.is_visible(), "the slider did not render as a control"
    figure = _figure_after(control)
    before = figure.get_attribute("src")
    area = control.locator("xpath=ancestor::div[contains(@class,'jp-OutputArea')][1]")
    area.screenshot(path=str(SHOTS / f"{stem}-before.png"))
    handle = control.locator(".noUi-handle, .slider-container, input[type=range]").first
    handle.click()
    for _ in range(2):
        page.keyboard.press("ArrowRight")
    page.mouse.click(5, 5)  # release focus: continuous_update=False sliders send on change
    deadline = time.time() + 120
    while time.time() < deadline and _figure_after(control).get_attribute("src") == before:
        time.sleep(1)
    area.screenshot(path=str(SHOTS / f"{stem}-after.png"))
    assert _figure_after(control).get_attribute("src") != before, "moving the slider did not redraw the figure"
    page.close()


def test_site_index_and_page_open(browser, tmp_path):
    from cibtools.runner import run_notebooks
    from cibtools.site import build

    runs = tmp_path / "runs"
    run_notebooks("smoke", out_dir=runs, only=["00"], log=lambda *_: None)
    index = build("smoke", runs=runs, out=tmp_path / "site")
    page = browser.new_page()
    page.goto(index.as_uri())
    assert "executed" in page.locator("h1").inner_text()
    link = page.locator("li a").first
    assert "Overview" in link.inner_text() or "00" in link.inner_text()
    link.click()
    page.wait_for_load_state()
    assert page.locator(".jp-Notebook, .jp-Cell").first.is_visible()
    assert _images_loaded(page, "the rendered 00") >= 1, "the rendered 00 should show the pipeline diagram"
    page.screenshot(path=str(SHOTS / "site-00.png"))
    page.close()
