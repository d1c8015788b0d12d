"""A JupyterLab server on 127.0.0.1 (temporary token, notebooks copied to a temporary folder so nothing
is saved into the repository) and headless Chromium driven by Playwright. `make test-browser` runs these."""
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CIB_CHROMIUM", "/usr/bin/chromium")
SHOTS = REPO / "runs" / "browser"
# Flags the machine needs: no sandbox as root, and no background connections on a closed network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """(base url, token, notebook folder) of a running JupyterLab; the kernels run at the smoke profile
    with their outputs, caches and figures in a temporary folder."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"No browser at {CHROMIUM}: install Debian's chromium (`apt-get install -y chromium`); "
                    "`make test-browser` does this. The browser test never passes without one.")
    root = tmp_path_factory.mktemp("lab")
    books = root / "notebooks"
    shutil.copytree(REPO / "notebooks", books)
    settings = root / "lab-settings"  # every cell rendered (no windowing), no news pop-up
    for ext, name, text in (("@jupyterlab/notebook-extension", "tracker", '{"windowingMode": "none"}'),
                            ("@jupyterlab/apputils-extension", "notification", '{"fetchNews": "false"}')):
        (settings / ext).mkdir(parents=True, exist_ok=True)
        (settings / ext / f"{name}.jupyterlab-settings").write_text(text)
    token, port = secrets.token_hex(16), _free_port()
    env = {**os.environ, "CIB_PROFILE": "smoke", "CIB_RUNS_DIR": str(root / "runs"),
           "CIB_CACHE_DIR": str(root / "cache"), "JUPYTER_CONFIG_DIR": str(root / "config")}
    env.pop("CIB_HEADLESS", None)
    log = open(root / "lab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={books}", "--allow-root",
         f"--LabApp.user_settings_dir={settings}"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=1)
            break
        except OSError:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited: {(root / 'lab.log').read_text()[-2000:]}")
            time.sleep(0.5)
    else:
        server.terminate()
        pytest.fail("JupyterLab did not start within 60 s")
    yield base, token, books
    server.terminate()
    server.wait(timeout=20)
    log.close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()
