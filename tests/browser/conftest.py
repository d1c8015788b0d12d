"""JupyterLab on 127.0.0.1 (temporary token, notebooks copied to a temporary folder so nothing is saved into
the repository) and headless Chromium driven by Playwright. `make test-browser` runs these.

The widget notebooks also run under ipywidgets 7, the version Colab ships (and the install cell keeps:
pyproject asks for ipywidgets>=7.6). JupyterLab 4's widget manager (jupyterlab_widgets 3) renders only the
ipywidgets 8 protocol ("@jupyter-widgets/controls 1.5.0 is not registered"), so the 7.x kernel gets the
frontend made for it: the classic notebook (nbclassic) with widgetsnbextension 3.6.6, on a second server
(`classic`). Its packages are installed once, with --no-deps, into .venv/ipywidgets7 (nothing of the venv
changes), and its kernelspec lives in the server's temporary folder only (`make lab` never lists it)."""
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CIB_CHROMIUM", "/usr/bin/chromium")
SHOTS = REPO / "runs" / "browser"
# Flags the machine needs: no sandbox as root, and no background connections on a closed network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]

# The ipywidgets 7 kernel: ipywidgets 7 and what it imports that ipywidgets 8 does not (comm and traitlets are
# the venv's). Its frontend: the classic notebook and the ipywidgets 7 nbextension. widgetsnbextension 3.6.6 is
# the last ES5 build: from 3.6.7 on the Output widget's model class lacks _deserialize_state (an ES2015 static
# that Backbone's extend does not copy), so interact/interactive, whose figure is an Output widget, never render.
IPYWIDGETS7 = {
    "kernel": ("ipywidgets==7.8.5", "ipython_genutils==0.2.0"),
    "frontend": ("nbclassic==1.3.3", "widgetsnbextension==3.6.6", "nest_asyncio==1.6.0"),
}
IPYWIDGETS7_DIR = Path(sys.prefix) / "ipywidgets7"
KERNEL7 = "python3-ipywidgets7"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(name: str, argv: list[str], env: dict, root: Path, token: str, ready: str) -> tuple[subprocess.Popen, str]:
    """Start a Jupyter server (`argv` plus host, port, token) logging to root/<name>.log; wait for `ready`."""
    port = _free_port()
    log = open(root / f"{name}.log", "w")
    server = subprocess.Popen(argv + ["--no-browser", "--ip=127.0.0.1", f"--port={port}", "--allow-root",
                                      f"--IdentityProvider.token={token}"],
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{base}{ready}?token={token}", timeout=1)
            return server, base
        except OSError:
            if server.poll() is not None:
                log.close()
                pytest.fail(f"{name} exited: {(root / f'{name}.log').read_text()[-2000:]}")
            time.sleep(0.5)
    server.terminate()
    log.close()
    pytest.fail(f"{name} did not start within 60 s: {(root / f'{name}.log').read_text()[-2000:]}")


def _stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


@pytest.fixture(scope="session")
def workspace(tmp_path_factory):
    """(temporary folder, server environment): the kernels run at the smoke profile with their outputs, caches
    and figures in the folder; the Lab and classic servers share it (models trained once serve both)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"No browser at {CHROMIUM}: install Debian's chromium (`apt-get install -y chromium`); "
                    "`make test-browser` does this. The browser test never passes without one.")
    root = tmp_path_factory.mktemp("lab")
    env = {**os.environ, "CIB_PROFILE": "smoke", "CIB_RUNS_DIR": str(root / "runs"),
           "CIB_CACHE_DIR": str(root / "cache")}
    env.pop("CIB_HEADLESS", None)
    return root, env


@pytest.fixture(scope="session")
def lab(workspace):
    """(base url, token, notebook folder) of a running JupyterLab 4 (the venv's kernel: ipywidgets 8)."""
    root, env = workspace
    books = root / "notebooks"
    shutil.copytree(REPO / "notebooks", books)
    settings = root / "lab-settings"  # every cell rendered (no windowing), no news pop-up
    for ext, name, text in (("@jupyterlab/notebook-extension", "tracker", '{"windowingMode": "none"}'),
                            ("@jupyterlab/apputils-extension", "notification", '{"fetchNews": "false"}')):
        (settings / ext).mkdir(parents=True, exist_ok=True)
        (settings / ext / f"{name}.jupyterlab-settings").write_text(text)
    token = secrets.token_hex(16)
    server, base = _serve(
        "lab", [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={books}",
                f"--LabApp.user_settings_dir={settings}",
                "--LabApp.expose_app_in_browser=True"],  # window.jupyterapp: the test asks the kernel its ipywidgets
        {**env, "JUPYTER_CONFIG_DIR": str(root / "config")}, root, token, "/api/status")
    yield base, token, books
    _stop(server)


def _install(what: str, specs: tuple[str, ...]) -> Path:
    """IPYWIDGETS7_DIR/`what` holding `specs` (installed when missing or different; else a file check). Fails,
    never skips, when pip cannot install them."""
    target = IPYWIDGETS7_DIR / what
    marker = target / ".installed"
    if marker.exists() and marker.read_text() == " ".join(specs):
        return target
    partial = target.with_name(f"{what}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(partial), *specs],
                         capture_output=True, text=True)
    if pip.returncode:
        shutil.rmtree(partial, ignore_errors=True)
        pytest.fail(f"could not install {' '.join(specs)} into {partial} for the ipywidgets 7 test (pip exit "
                    f"{pip.returncode}): {(pip.stderr or pip.stdout)[-1500:]}")
    (partial / ".installed").write_text(" ".join(specs))
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target


@pytest.fixture(scope="session")
def ipywidgets7():
    """(kernel packages folder, frontend packages folder) of the ipywidgets 7 run, installed now when missing;
    fails unless the kernel's folder imports ipywidgets 7.x."""
    kernel, frontend = _install("kernel", IPYWIDGETS7["kernel"]), _install("frontend", IPYWIDGETS7["frontend"])
    probe = subprocess.run([sys.executable, "-c",
                            "import ipywidgets; ipywidgets.IntSlider(); print(ipywidgets.__version__)"],
                           env={**os.environ, "PYTHONPATH": str(kernel)}, capture_output=True, text=True)
    if probe.returncode or not probe.stdout.startswith("7."):
        pytest.fail(f"{kernel} does not import as ipywidgets 7.x: {probe.stdout}{probe.stderr[-1500:]}")
    return kernel, frontend


@pytest.fixture(scope="session")
def classic(workspace, ipywidgets7):
    """(base url, token, notebook folder, url prefix) of a running classic notebook whose notebooks open on the
    ipywidgets 7 kernel: the venv's Python with .venv/ipywidgets7/kernel first on its path."""
    root, env = workspace
    kernel, frontend = ipywidgets7
    books = root / "notebooks-ipywidgets7"
    shutil.copytree(REPO / "notebooks", books)
    for path in books.glob("*.ipynb"):  # the copies name the ipywidgets 7 kernel
        nb = json.loads(path.read_text())
        nb["metadata"]["kernelspec"] = {"name": KERNEL7, "display_name": "Python 3 (ipywidgets 7)",
                                        "language": "python"}
        path.write_text(json.dumps(nb, indent=1))
    data = root / "jupyter-ipywidgets7"
    (data / "kernels" / KERNEL7).mkdir(parents=True)
    (data / "kernels" / KERNEL7 / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (ipywidgets 7)", "language": "python", "env": {"PYTHONPATH": str(kernel)}}))
    config = root / "config-ipywidgets7"
    (config / "nbconfig").mkdir(parents=True)
    (config / "nbconfig" / "notebook.json").write_text('{"load_extensions": {"jupyter-js-widgets/extension": true}}')
    token = secrets.token_hex(16)
    server, base = _serve(
        "classic", [sys.executable, "-m", "nbclassic", f"--ServerApp.root_dir={books}"],
        {**env, "PYTHONPATH": str(frontend), "JUPYTER_CONFIG_DIR": str(config),
         # first: the kernelspec, and widgetsnbextension 3's jupyter-js-widgets before the venv's (4.x) of that name
         "JUPYTER_PATH": os.pathsep.join([str(data), str(frontend / "share" / "jupyter")])},
        root, token, "/api/status")
    try:  # nbclassic serves under /nbclassic/ beside Notebook 7, at the root without it
        urllib.request.urlopen(f"{base}/nbclassic/tree?token={token}", timeout=10)
        prefix = "/nbclassic"
    except urllib.error.HTTPError:
        prefix = ""
    yield base, token, books, prefix
    _stop(server)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()
