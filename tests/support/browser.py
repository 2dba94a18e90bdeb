"""A headless Chromium driven through chromedriver's W3C WebDriver HTTP API, with the standard
library only (Debian's `chromium` and `chromium-driver` packages; no Selenium, no Node)."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Final, cast

CHROMIUM: Final = "/usr/bin/chromium"
# What a test browser needs: no sandbox (root, containers), no GPU, and nothing that reaches the
# internet on its own (updates, sync, field trials, QUIC).
CHROMIUM_FLAGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,800",
)
ELEMENT: Final = "element-6066-11e4-a52e-4f735466cecf"  # the W3C key of an element reference
CONTROL: Final = "\ue009"  # WebDriver's key code of the Control key


def missing() -> str | None:
    """Why no browser test can run here, or None."""
    if not Path(CHROMIUM).is_file():
        return f"{CHROMIUM} not found (Debian's chromium package; .ci/run installs it)"
    if shutil.which("chromedriver") is None:
        return "chromedriver not found (Debian's chromium-driver package; .ci/run installs it)"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return cast(int, sock.getsockname()[1])


class WebDriverError(RuntimeError):
    pass


class Browser:
    """One chromedriver and one Chromium session with a fresh profile; use as a context manager."""

    def __init__(self) -> None:
        self._port = _free_port()
        self._profile = tempfile.TemporaryDirectory(prefix="dev8-chromium-")
        self._log = Path(self._profile.name) / "chromedriver.log"
        self._driver = subprocess.Popen(
            ["chromedriver", f"--port={self._port}", f"--log-path={self._log}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._session = ""

    def __enter__(self) -> Browser:
        deadline = time.monotonic() + 20
        while True:
            try:
                if self._call("GET", "/status", session=False).get("ready"):
                    break
            except (OSError, WebDriverError):
                pass
            if time.monotonic() > deadline:
                raise WebDriverError(f"chromedriver did not start; its log: {self.driver_log()}")
            time.sleep(0.1)
        options = {
            "binary": CHROMIUM,
            "args": [*CHROMIUM_FLAGS, f"--user-data-dir={self._profile.name}/profile"],
        }
        capabilities = {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}}
        created = self._call("POST", "/session", {"capabilities": capabilities}, session=False)
        self._session = str(created["sessionId"])
        return self

    def __exit__(self, *_: object) -> None:
        try:
            if self._session:
                self._call("DELETE", "")
        finally:
            self._driver.terminate()
            self._driver.wait(timeout=10)
            self._profile.cleanup()

    def driver_log(self) -> str:
        return self._log.read_text(errors="replace")[-4000:] if self._log.exists() else ""

    def _call(self, method: str, path: str, body: object = None, *, session: bool = True) -> Any:
        url = f"http://127.0.0.1:{self._port}" + (f"/session/{self._session}" if session else "") + path
        data = json.dumps(body if body is not None else {}).encode() if method == "POST" else None
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                payload = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as e:
            detail = json.loads(e.read() or b"{}").get("value", {})
            raise WebDriverError(f"{method} {path}: {detail.get('error')}: {detail.get('message')}") from e
        return payload.get("value")

    def open(self, url: str) -> None:
        self._call("POST", "/url", {"url": url})

    def url(self) -> str:
        return str(self._call("GET", "/url"))

    def find(self, css: str) -> str | None:
        """The first element matching the CSS selector now, or None."""
        found = self._call("POST", "/elements", {"using": "css selector", "value": css})
        return str(found[0][ELEMENT]) if found else None

    def wait_for(self, css: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while (element := self.find(css)) is None:
            if time.monotonic() > deadline:
                raise WebDriverError(f"no {css!r} within {timeout}s at {self.url()}")
            time.sleep(0.25)
        return element

    def type(self, element: str, text: str) -> None:
        self._call("POST", f"/element/{element}/value", {"text": text})

    def press(self, *keys: str) -> None:
        """Keys held down in order, then released in reverse: a chord such as Ctrl+` ."""
        down = [{"type": "keyDown", "value": key} for key in keys]
        up = [{"type": "keyUp", "value": key} for key in reversed(keys)]
        self._call("POST", "/actions", {"actions": [{"type": "key", "id": "keyboard", "actions": down + up}]})

    def click(self, element: str) -> None:
        self._call("POST", f"/element/{element}/click")

    def script(self, source: str, *args: object) -> Any:
        return self._call("POST", "/execute/sync", {"script": source, "args": list(args)})

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(str(self._call("GET", "/screenshot"))))
        return path
