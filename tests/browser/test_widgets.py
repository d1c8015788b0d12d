"""Notebooks in the browser as a student opens them: every image of 00, 01, 02 and 08 loads (before and after
"Run All"), the ipywidgets controls of 01, 02 and 08 render as controls and redraw their figure when moved,
and the rendered site opens with its images. The widget notebooks run twice: in JupyterLab 4 on the venv's
kernel (ipywidgets 8), and in the classic notebook on a kernel with ipywidgets 7, the version Colab ships
(conftest says why the classic frontend). Each run first asks its kernel which ipywidgets it imports.
Screenshots go to runs/browser/."""
import re
import time
from dataclasses import dataclass

import pytest

from conftest import KERNEL7, SHOTS

# notebook -> the CSS class of the control the test moves (the same in ipywidgets 7 and 8)
CONTROLS = {
    "01-information-bottleneck.ipynb": ".widget-hslider",
    "02-causal-iv.ipynb": ".widget-hslider",
    "08-adversarial-visualisation.ipynb": ".widget-hslider",
}
# what a widget manager logs to the console when it cannot build or show a widget
WIDGET_ERRORS = re.compile(r"Could not (create|process)|is not registered|_deserialize_state|Class \w+ not found"
                           r"|Failed to load (model|view) class|Error (displaying|rendering)[^\n]*widget")


@dataclass(frozen=True)
class Frontend:
    name: str
    cell: str     # a cell of the notebook
    prompts: str  # the input prompts of code cells ("[*]:" running, "[ ]:" queued or not run, "[3]:" done)
    errors: str   # outputs that can hold a traceback
    images: str   # JS: the notebook's <img> elements
    area: str     # the class of the output block a control and the figure it redraws share


LAB = Frontend("JupyterLab 4", ".jp-Notebook .jp-Cell", ".jp-CodeCell .jp-InputPrompt",
               ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
               "document.querySelectorAll('.jp-Notebook img, .jp-Cell img')", "jp-OutputArea")
CLASSIC = Frontend("classic notebook", "#notebook .cell", ".code_cell .input_prompt", ".output_stderr, .output_error",
                   "document.querySelectorAll('#notebook img')", "output_wrapper")

# `code` run in the kernel of the notebook on screen, outside its cells: {kernel: kernelspec name, out: printed}
IN_KERNEL = {
    # window.jupyterapp: the server runs with --LabApp.expose_app_in_browser
    LAB: """async (code) => {
      const context = window.jupyterapp.shell.currentWidget.sessionContext;
      const kernel = context.session.kernel, out = [];
      const future = kernel.requestExecute({code, store_history: false});
      future.onIOPub = (msg) => {
        const c = msg.content;
        if (msg.header.msg_type === "stream") out.push(c.text);
        if (msg.header.msg_type === "error") out.push(`${c.ename}: ${c.evalue}`);
      };
      await future.done;
      return {kernel: kernel.name, out: out.join("")};
    }""",
    CLASSIC: """(code) => new Promise((resolve, reject) => {
      const kernel = Jupyter.notebook.kernel, out = [];
      const done = () => resolve({kernel: kernel.name, out: out.join("")});
      kernel.execute(code, {
        iopub: {output: (msg) => { const c = msg.content; out.push(c.text || `${c.ename}: ${c.evalue}`); },
                status: (msg) => { if (msg.content.execution_state === "idle") done(); }},
      }, {store_history: false, silent: false});
      setTimeout(() => reject(new Error("the kernel did not answer within 60 s")), 60000);
    })""",
}


def _assert_ipywidgets(page, ui: Frontend, kernelspec: str, version: str) -> str:
    """Fail unless the notebook on screen runs on `kernelspec` and that kernel imports ipywidgets `version`.x."""
    got = page.evaluate(IN_KERNEL[ui], "import ipywidgets; print(ipywidgets.__version__, ipywidgets.__file__)")
    assert got["kernel"] == kernelspec, f"{ui.name}: the notebook runs on the kernel {got['kernel']}, not {kernelspec}"
    assert got["out"].startswith(version + "."), \
        f"{ui.name}: kernel {kernelspec} imports ipywidgets {got['out']!r}, not {version}.x"
    return got["out"].strip()


def _open_palette_run_all(page) -> None:
    """JupyterLab: "Run All Cells" from the command palette, opened from command mode."""
    item = page.locator('.lm-CommandPalette-item[data-command="notebook:run-all-cells"]').first
    for _ in range(10):
        page.keyboard.press("Escape")
        page.keyboard.press("Control+Shift+C")
        palette = page.locator(".lm-CommandPalette-input")
        try:
            palette.wait_for(state="visible", timeout=3000)
            palette.fill("Run All Cells")
            item.wait_for(state="visible", timeout=3000)
            item.click()
            return
        except Exception:  # noqa: BLE001 - the page was not ready yet: try again
            time.sleep(2)
    raise AssertionError("could not open JupyterLab's command palette")


def _run_all(page, ui: Frontend = LAB, timeout_s: float = 420) -> None:
    """Run every cell through the frontend's own menu command and wait until the kernel is done."""
    if ui is LAB:
        _open_palette_run_all(page)
    else:  # Cell > Run All
        page.click("#celllink")
        page.click("#run_all_cells")
    deadline = time.time() + timeout_s
    time.sleep(2)
    while time.time() < deadline:
        prompts = [p.replace("\xa0", " ").strip() for p in page.locator(ui.prompts).all_inner_texts()]
        shown = [p for p in prompts if p]  # a hidden (solution) cell shows no prompt
        if shown and not any("*" in p or p.endswith("[ ]:") for p in shown):
            return
        failed = [t for t in page.locator(ui.errors).all_inner_texts() if "Traceback" in t or "Error" in t]
        if failed:
            raise AssertionError(f"a cell failed: {failed[0][-1500:]}")
        time.sleep(1)
    raise AssertionError(f"cells still running after {timeout_s} s")


def _images_loaded(page, where: str, ui: Frontend = LAB) -> int:
    """Wait until every <img> of the page has finished loading, fail naming any that did not load (natural
    width 0: a 404, a path outside the served folder, a broken data URI); return how many there are."""
    page.wait_for_function(f"() => [...{ui.images}].every(i => i.complete)", timeout=60_000)
    broken = page.evaluate(f"() => [...{ui.images}].filter(i => !(i.naturalWidth > 0))"
                           ".map(i => (i.getAttribute('alt') || '') + ' <' + (i.getAttribute('src') || '').slice(0, 80) + '>')")
    assert not broken, f"{where}: images that did not load: {broken}"
    return page.evaluate(f"() => {ui.images}.length")


def _new_page(browser):
    """A page, and the widget manager errors its console logs."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and WIDGET_ERRORS.search(m.text) else None)
    return page, errors


def _open(browser, lab, notebook):
    base, token, _ = lab
    page, errors = _new_page(browser)
    stem = notebook.split(".")[0]
    page.goto(f"{base}/lab/workspaces/{stem}/tree/{notebook}?reset&token={token}")  # only this notebook open
    page.locator(LAB.cell).first.wait_for(timeout=120_000)
    page.locator(".jp-StatusBar-Widget", has_text="Idle").first.wait_for(timeout=120_000)  # the kernel is up
    _images_loaded(page, f"{notebook} as opened")
    return page, errors


def _open_classic(browser, classic, notebook):
    base, token, _, prefix = classic
    page, errors = _new_page(browser)
    page.goto(f"{base}{prefix}/notebooks/{notebook}?token={token}")
    page.locator(CLASSIC.cell).first.wait_for(timeout=120_000)
    # the kernel is up and the ipywidgets 7 extension (jupyter-js-widgets) has its manager
    page.wait_for_function("() => window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel && "
                           "Jupyter.notebook.kernel.is_connected() && Jupyter.WidgetManager", timeout=120_000)
    _images_loaded(page, f"{notebook} as opened", CLASSIC)
    return page, errors


def test_overview_images_load(lab, browser):
    page, _ = _open(browser, lab, "00-overview.ipynb")
    _run_all(page)
    assert _images_loaded(page, "00-overview.ipynb after Run All") >= 1, "00 should show the pipeline diagram"
    figure = page.locator(".jp-OutputArea-output img").first
    figure.scroll_into_view_if_needed()
    figure.screenshot(path=str(SHOTS / "00-pipeline.png"))
    page.close()


def _figure_after(control, ui: Frontend):
    """The PNG shown in the output block that holds `control` (the figure it redraws)."""
    area = control.locator(f"xpath=ancestor::div[contains(@class,'{ui.area}')][1]")
    img = area.locator("img").last
    img.wait_for(timeout=60_000)
    return img


def _renders_and_redraws(page, errors, ui: Frontend, notebook: str, shot: str) -> None:
    """After Run All: the notebook's slider renders as a control, and moving it redraws its figure."""
    _images_loaded(page, f"{notebook} after Run All ({ui.name})", ui)
    text = "\n".join(page.locator(f".{ui.area}").all_inner_texts())
    assert "Error displaying widget" not in text and "Error rendering" not in text and "Traceback" not in text
    assert "No slider here" not in text and "No sliders here" not in text  # the live path, not the headless one
    control = page.locator(CONTROLS[notebook]).first
    try:
        control.wait_for(state="attached", timeout=30_000)
    except Exception:  # noqa: BLE001 - playwright's TimeoutError: say why, when the console knows
        raise AssertionError(f"{ui.name}: no slider rendered; widget manager errors: {errors[:3]}") from None
    control.scroll_into_view_if_needed()
    assert control.is_visible(), f"{ui.name}: the slider did not render as a control"
    figure = _figure_after(control, ui)
    before = figure.get_attribute("src")
    area = control.locator(f"xpath=ancestor::div[contains(@class,'{ui.area}')][1]")
    area.screenshot(path=str(SHOTS / f"{shot}-before.png"))
    handle = control.locator(".noUi-handle, .slider-container, input[type=range]").first
    handle.click()
    for _ in range(2):
        page.keyboard.press("ArrowRight")
    if ui is LAB:
        page.mouse.click(5, 5)  # release focus: continuous_update=False sliders send on change
    deadline = time.time() + 120
    while time.time() < deadline and _figure_after(control, ui).get_attribute("src") == before:
        time.sleep(1)
    area.screenshot(path=str(SHOTS / f"{shot}-after.png"))
    assert _figure_after(control, ui).get_attribute("src") != before, \
        f"{ui.name}: moving the slider did not redraw the figure"
    assert not errors, f"{ui.name}: the widget manager logged errors: {errors[:3]}"


@pytest.mark.parametrize("notebook", list(CONTROLS))
def test_widget_renders_and_redraws(lab, browser, notebook):
    """ipywidgets 8 (the venv's kernel) in JupyterLab 4."""
    page, errors = _open(browser, lab, notebook)
    _assert_ipywidgets(page, LAB, "python3", "8")
    _run_all(page)
    _renders_and_redraws(page, errors, LAB, notebook, notebook.split(".")[0])
    page.close()


@pytest.mark.parametrize("notebook", list(CONTROLS))
def test_widget_renders_and_redraws_ipywidgets7(classic, browser, notebook):
    """ipywidgets 7 (Colab's) in the classic notebook with its widget extension (widgetsnbextension 3)."""
    page, errors = _open_classic(browser, classic, notebook)
    _assert_ipywidgets(page, CLASSIC, KERNEL7, "7")
    _run_all(page, CLASSIC)
    _renders_and_redraws(page, errors, CLASSIC, notebook, notebook.split(".")[0] + "-ipywidgets7")
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
