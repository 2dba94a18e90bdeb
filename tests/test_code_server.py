"""code-server in the workspace image (built offline, code-server from the npm registry): the
entrypoint serves it on port 8080 as dev8 with PASSWORD, not without one or when disabled, and a
real headless Chromium logs in and gets the VS Code workbench.

Fixtures `offline_image` and `podman_env` come from tests/conftest.py.
"""

from __future__ import annotations

import hashlib
import http.client
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from tests.support import browser
from tests.support.workspace import Workspace, assert_image_env, image_env, make_key, parse_env, process_environments

PASSWORD = "dev8-canary-Code-Server-Pa55word"
REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "reports" / "test-artifacts"
NOT_STARTED = "code-server: not started: PASSWORD is not set"


@pytest.fixture(scope="module")
def ssh_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_key(tmp_path_factory.mktemp("ssh"), "dev8")


def start(image: str, podman_env: Mapping[str, str], key: Path, **env: str) -> Workspace:
    ws = Workspace.start(
        image, podman_env, {"SSH_PUBLIC_KEY": key.with_suffix(".pub").read_text().strip(), **env}, publish=(8080,)
    )
    ws.wait_for_ssh(key)
    return ws


def request(
    ws: Workspace, method: str, path: str, body: str | None = None, cookie: str = ""
) -> tuple[int, dict[str, str], str]:
    """One HTTP request to the container's port 8080, redirects not followed."""
    connection = http.client.HTTPConnection("127.0.0.1", ws.published[8080], timeout=30)
    headers = {"Cookie": cookie} if cookie else {}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return (
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            response.read().decode(errors="replace"),
        )
    finally:
        connection.close()


def wait_for_code_server(ws: Workspace, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if request(ws, "GET", "/healthz")[0] == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline or not ws.running():
            raise AssertionError(f"code-server did not answer on 8080 within {timeout}s; logs:\n{ws.logs()}")
        time.sleep(0.5)


def log_in(ws: Workspace, password: str) -> tuple[int, str]:
    """POST /login; the status and the session cookie it set (empty when refused)."""
    status, headers, _ = request(ws, "POST", "/login", urllib.parse.urlencode({"password": password}))
    cookie = headers.get("set-cookie", "").split(";", 1)[0]
    return status, cookie if cookie.startswith("code-server-session=") else ""


@pytest.fixture(scope="module")
def served(offline_image: Callable[[str], str], podman_env: Mapping[str, str], ssh_key: Path) -> Iterator[Workspace]:
    """The workspace as in production with a password: code-server on 8080."""
    ws = start(offline_image("workspace"), podman_env, ssh_key, PASSWORD=PASSWORD)
    try:
        wait_for_code_server(ws)
        yield ws
    finally:
        ws.remove()


def test_code_server_logs_in_with_the_password_only(served: Workspace) -> None:
    status, cookie = log_in(served, "not-the-password")
    assert status != 302
    assert not cookie
    status, cookie = log_in(served, PASSWORD)
    assert status == 302
    assert cookie
    status, _, page = request(served, "GET", "/?folder=/workspace", cookie=cookie)
    assert status == 200
    assert "workbench" in page


def test_code_server_runs_as_dev8_with_the_image_environment_and_no_password(
    served: Workspace, ssh_key: Path, offline_image: Callable[[str], str], podman_env: Mapping[str, str]
) -> None:
    """Its environment is what its terminals inherit: the image's PATH, no secret."""
    processes = served.exec("ps", "-eo", "pid=,user=,args=").stdout.splitlines()
    code_server = [line.split(None, 2) for line in processes if "/code-server/out/node/entry.js" in line]
    assert code_server, processes
    assert {user for _, user, _ in code_server} == {"dev8"}
    environs = process_environments(served, ssh_key)
    for pid, (comm, environ) in environs.items():
        assert PASSWORD not in (environ or ""), f"the password is in the environment of {pid} ({comm})"
    expected = image_env(offline_image("workspace"), podman_env)
    for pid, _, args in code_server:
        environ = environs[pid][1]
        assert environ is not None, f"dev8 cannot read code-server's environment ({pid})"
        assert_image_env(parse_env(environ.replace("\0", "\n")), expected, args)


def test_code_server_not_started_without_a_password(
    offline_image: Callable[[str], str], podman_env: Mapping[str, str], ssh_key: Path
) -> None:
    ws = start(offline_image("workspace"), podman_env, ssh_key)
    try:
        time.sleep(3)
        assert NOT_STARTED in ws.logs()
        assert ws.ssh(ssh_key, "pgrep -f code-server/out/node/entry.js").returncode == 1
        assert ws.running()
    finally:
        ws.remove()


def test_code_server_can_be_disabled(
    offline_image: Callable[[str], str], podman_env: Mapping[str, str], ssh_key: Path
) -> None:
    ws = start(offline_image("workspace"), podman_env, ssh_key, PASSWORD=PASSWORD, CODE_SERVER_ENABLED="false")
    try:
        time.sleep(3)
        assert "code-server: not started (CODE_SERVER_ENABLED=false)" in ws.logs()
        assert ws.ssh(ssh_key, "pgrep -f code-server/out/node/entry.js").returncode == 1
    finally:
        ws.remove()


def test_code_server_takes_a_hashed_password_and_stops_with_the_container(
    offline_image: Callable[[str], str], podman_env: Mapping[str, str], ssh_key: Path
) -> None:
    """HASHED_PASSWORD (code-server's own format: argon2, or SHA-256 hex); then `podman stop`
    reaches code-server through tini and the entrypoint, well before the 10 s SIGKILL."""
    digest = hashlib.sha256(PASSWORD.encode()).hexdigest()
    ws = start(offline_image("workspace"), podman_env, ssh_key, HASHED_PASSWORD=digest)
    try:
        wait_for_code_server(ws)
        assert log_in(ws, PASSWORD)[0] == 302
        assert ws.stop() < 8
        assert ws.exit_code() == 0, ws.logs()
    finally:
        ws.remove()


def test_browser_logs_in_and_the_workbench_renders(
    served: Workspace, offline_image: Callable[[str], str], podman_env: Mapping[str, str]
) -> None:
    """Debian's headless Chromium opens code-server, logs in through the form, and the VS Code
    workbench renders with the explorer showing /workspace; a terminal opened in it has the image's
    environment. The screenshot is kept."""
    if (reason := browser.missing()) is not None:
        pytest.skip(reason)
    served.exec("sh", "-c", "echo hello >/workspace/hello-from-dev8.txt; rm -f /tmp/dev8-terminal-env")
    with browser.Browser() as chrome:
        chrome.open(f"http://127.0.0.1:{served.published[8080]}/")
        password = chrome.wait_for("input[type=password]", timeout=30)
        assert "/login" in chrome.url()
        chrome.type(password, "not-the-password")
        chrome.click(chrome.wait_for("input[type=submit], button[type=submit]", timeout=5))
        chrome.wait_for(".error", timeout=30)
        assert "/login" in chrome.url()
        chrome.type(chrome.wait_for("input[type=password]", timeout=30), PASSWORD)
        chrome.click(chrome.wait_for("input[type=submit], button[type=submit]", timeout=5))
        chrome.wait_for(".monaco-workbench", timeout=120)
        chrome.wait_for(".explorer-folders-view .monaco-list-row", timeout=120)
        deadline = time.monotonic() + 60
        while "hello-from-dev8.txt" not in (names := chrome.script(EXPLORER_NAMES)) and time.monotonic() < deadline:
            time.sleep(0.5)
        shot = chrome.screenshot(ARTIFACTS / "code-server-workbench.png")
        print(f"screenshot of the workbench: {shot}")
        assert "hello-from-dev8.txt" in names, names
        parts = chrome.script(WORKBENCH_PARTS)
        assert parts == {"activitybar": True, "sidebar": True, "editor": True, "statusbar": True}, parts
        assert shot.stat().st_size > 10_000

        chrome.press(browser.CONTROL, "`")  # View: Toggle Terminal
        terminal = chrome.wait_for(".xterm-helper-textarea", timeout=60)
        deadline = time.monotonic() + 60
        while (written := served.exec("cat", "/tmp/dev8-terminal-env")).returncode != 0:
            if time.monotonic() > deadline:
                chrome.screenshot(ARTIFACTS / "code-server-terminal.png")
                raise AssertionError(f"the terminal did not run `env`: {written.stderr}")
            chrome.type(
                terminal, "env >/tmp/dev8-terminal-env.part && mv /tmp/dev8-terminal-env.part /tmp/dev8-terminal-env\n"
            )
            time.sleep(2)
    terminal_env = parse_env(written.stdout)
    assert_image_env(
        terminal_env, image_env(offline_image("workspace"), podman_env), "code-server terminal", login=True
    )
    assert PASSWORD not in written.stdout


EXPLORER_NAMES = """return Array.from(document.querySelectorAll('.explorer-folders-view .monaco-list-row'))
  .map(row => row.textContent.trim());"""
WORKBENCH_PARTS = """const visible = (sel) => { const el = document.querySelector(sel);
  return !!el && el.getBoundingClientRect().width > 0 && el.getBoundingClientRect().height > 0; };
return {activitybar: visible('.part.activitybar'), sidebar: visible('.part.sidebar'),
  editor: visible('.part.editor'), statusbar: visible('.part.statusbar')};"""
