"""The browsers a page is tested in, behind one small interface so that the same checks run in
each: Chromium through Playwright, Firefox (ESR, from Debian) through puppeteer-core over
WebDriver BiDi (tests/browser/firefox.mjs), and WebKitGTK, Safari's engine (not Safari
itself), through its W3C WebDriver server on a private Xvfb display.

A check reads the page with ``evaluate`` and acts as a person would: ``click`` presses the
mouse at the middle of an element (after checking that nothing covers it there), ``press``
types a key into the focused element.
"""

from __future__ import annotations

import base64
import glob
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parents[1]
NODE_MODULES = ROOT / "tests" / "browser" / "node_modules"
VIEWPORT = (1280, 900)
# Where the element to click is and whether it would get the click there; the arguments are
# a selector, a text the element must contain (or null) and whether the first of several will do.
_TARGET = """((selector, text, first) => {
  const norm = (s) => s.replace(/\\s+/g, " ");
  const found = [...document.querySelectorAll(selector)]
    .filter((e) => text === null || norm(e.textContent).includes(norm(text)));
  if (found.length === 0 || (found.length > 1 && !first))
    return found.length + " elements match " + selector;
  const element = found[0];
  element.scrollIntoView({block: "center", inline: "center"});
  const box = element.getBoundingClientRect();
  const x = box.left + box.width / 2, y = box.top + box.height / 2;
  const hit = document.elementFromPoint(x, y);
  if (!hit || !element.contains(hit))
    return "another element would get the click: " + (hit ? hit.outerHTML.slice(0, 80) : "none");
  return [x, y];
})"""


class Page:
    """A page open in one of the browsers."""

    browser: str

    def evaluate(self, expression: str) -> Any:
        raise NotImplementedError

    def _click_at(self, x: float, y: float) -> None:
        raise NotImplementedError

    def press(self, key: str) -> None:
        """Type ``key`` (a key name such as ``Enter``) into the focused element."""
        raise NotImplementedError

    def screenshot(self, path: Path) -> None:
        raise NotImplementedError

    def seen(self) -> dict[str, list[str]]:
        """Every console message, page error and request (URL) the browser reported."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def call(self, function: str, *args: Any) -> Any:
        """The result of the JavaScript ``function`` applied to ``args`` (JSON values)."""
        return self.evaluate(f"({function})(...{json.dumps(list(args))})")

    def click(self, selector: str, text: str | None = None, first: bool = False) -> None:
        """A mouse click on the element matching ``selector`` that contains ``text``: the only
        one, or the first when ``first``."""
        target = self.call(_TARGET, selector, text, first)
        assert isinstance(target, list), target
        self._click_at(*target)

    def focus(self, selector: str) -> None:
        self.call("(s) => document.querySelector(s).focus()", selector)

    def text(self, selector: str) -> str:
        """The text of the first element matching ``selector`` as the browser shows it."""
        return self.call("(s) => document.querySelector(s).innerText", selector)

    def count(self, selector: str) -> int:
        return self.call("(s) => document.querySelectorAll(s).length", selector)


class PlaywrightPage(Page):
    def __init__(self, page, seen: dict[str, list[str]]) -> None:
        self.browser, self.page, self._seen = "chromium", page, seen
        page.on("dialog", lambda d: (seen["errors"].append(f"dialog: {d.message}"),
                                     d.dismiss()))

    def evaluate(self, expression: str) -> Any:
        return self.page.evaluate(expression)

    def _click_at(self, x: float, y: float) -> None:
        self.page.mouse.click(x, y)

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)

    def screenshot(self, path: Path) -> None:
        self.page.screenshot(path=str(path), full_page=True)

    def seen(self) -> dict[str, list[str]]:
        self.page.evaluate("0")  # lets Playwright hand over the events it has received
        return self._seen

    def close(self) -> None:
        self.page.close()


class Firefox:
    """Firefox driven by tests/browser/firefox.mjs, one page at a time."""

    def __init__(self, executable: str) -> None:
        self.process = subprocess.Popen(
            ["node", str(ROOT / "tests" / "browser" / "firefox.mjs"), executable],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def step(self, step: str, **args: Any) -> Any:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps({"step": step, **args}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, "Firefox (tests/browser/firefox.mjs) stopped"
        answer = json.loads(line)
        assert "error" not in answer, answer["error"]
        return answer["value"]

    def open(self, url: str) -> Page:
        self.step("open", url=url, width=VIEWPORT[0], height=VIEWPORT[1])
        return FirefoxPage(self)

    def quit(self) -> None:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.close()
        self.process.wait(timeout=30)
        self.process.stdout.close()


class FirefoxPage(Page):
    def __init__(self, firefox: Firefox) -> None:
        self.browser, self.step = "firefox", firefox.step

    def evaluate(self, expression: str) -> Any:
        return self.step("evaluate", expression=expression)

    def _click_at(self, x: float, y: float) -> None:
        self.step("click", x=x, y=y)

    def press(self, key: str) -> None:
        self.step("press", key=key)

    def screenshot(self, path: Path) -> None:
        self.step("screenshot", path=str(path))

    def seen(self) -> dict[str, list[str]]:
        return self.step("seen")

    def close(self) -> None:
        self.step("close")


# W3C WebDriver cannot listen to a page's console from its start: the page's errors, console
# messages and CSP violations are recorded from just after it loaded, and the requests it made
# are those the browser's Resource Timing lists (a request the CSP blocks is never made).
_RECORD = """window.cjmSeen = {console: [], errors: []};
for (const type of ["debug", "log", "info", "warn", "error"]) {
  const write = console[type];
  console[type] = (...args) => { cjmSeen.console.push(type + ": " + args.join(" "));
                                 write.apply(console, args); };
}
addEventListener("error", (e) => cjmSeen.errors.push(String(e.message)));
addEventListener("unhandledrejection", (e) => cjmSeen.errors.push(String(e.reason)));
addEventListener("securitypolicyviolation",
                 (e) => cjmSeen.console.push("CSP: " + e.blockedURI));"""
_SEEN = """({...window.cjmSeen,
  requests: performance.getEntriesByType("resource").map((r) => r.name)})"""
_KEYS = {"Enter": "\ue007", " ": " ", "Tab": "\ue004", "ArrowLeft": "\ue012",
         "ArrowDown": "\ue015"}  # W3C WebDriver's codes


class WebKit:
    """WebKitGTK's MiniBrowser in WebKitWebDriver's session, on an Xvfb display of its own."""

    def __init__(self, driver: str, xvfb: str) -> None:
        read, write = os.pipe()
        self.xvfb = subprocess.Popen([xvfb, "-displayfd", str(write), "-nolisten", "tcp",
                                      "-screen", "0", "1600x1200x24"], pass_fds=(write,),
                                     stderr=subprocess.DEVNULL)
        os.close(write)
        with os.fdopen(read) as display:
            number = display.readline().strip()
        with socket.socket() as probe:  # a free port for the driver
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.driver = subprocess.Popen([driver, f"--port={port}"],
                                       env={**os.environ, "DISPLAY": f":{number}"},
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            self._start_session()
        except BaseException:
            self._stop()
            raise

    def _start_session(self) -> None:
        self._wait_ready()
        browser = {"args": ["--automation"]}
        minibrowser = sorted(glob.glob("/usr/lib/*/webkit2gtk-4.*/MiniBrowser"))
        if minibrowser:
            browser["binary"] = minibrowser[-1]
        session = self.send("POST", "/session", {"capabilities": {"alwaysMatch": {
            "webkitgtk:browserOptions": browser}}})
        self.session = f"/session/{session['sessionId']}"
        self.send("POST", f"{self.session}/window/rect", {"width": VIEWPORT[0],
                                                          "height": VIEWPORT[1]})
        # The window's bars take some of its height: grow it until the page gets VIEWPORT.
        inner = self.execute("return innerHeight")
        self.send("POST", f"{self.session}/window/rect",
                  {"width": VIEWPORT[0], "height": 2 * VIEWPORT[1] - inner})

    def _wait_ready(self) -> None:
        for _ in range(100):
            try:
                if self.send("GET", "/status")["ready"]:
                    return
            except (OSError, urllib.error.URLError):
                time.sleep(0.1)
        raise AssertionError("WebKitWebDriver did not start")

    def send(self, method: str, path: str, body: dict | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return json.load(response)["value"]
        except urllib.error.HTTPError as error:
            raise AssertionError(f"WebKitWebDriver: {json.load(error)['value']}") from None

    def execute(self, script: str) -> Any:
        return self.send("POST", f"{self.session}/execute/sync", {"script": script, "args": []})

    def actions(self, source: dict) -> None:
        self.send("POST", f"{self.session}/actions", {"actions": [source]})

    def open(self, url: str) -> Page:
        self.send("POST", f"{self.session}/url", {"url": url})
        self.execute(_RECORD)
        return WebKitPage(self)

    def quit(self) -> None:
        self.send("DELETE", self.session)
        self._stop()

    def _stop(self) -> None:
        for process in (self.driver, self.xvfb):
            process.terminate()
            process.wait(timeout=30)


class WebKitPage(Page):
    def __init__(self, webkit: WebKit) -> None:
        self.browser, self.webkit = "webkit", webkit

    def evaluate(self, expression: str) -> Any:
        return self.webkit.execute(f"return ({expression});")

    def _click_at(self, x: float, y: float) -> None:
        self.webkit.actions({"type": "pointer", "id": "mouse",
                             "parameters": {"pointerType": "mouse"},
                             "actions": [{"type": "pointerMove", "duration": 0,
                                          "x": round(x), "y": round(y), "origin": "viewport"},
                                         {"type": "pointerDown", "button": 0},
                                         {"type": "pointerUp", "button": 0}]})

    def press(self, key: str) -> None:
        value = _KEYS[key]
        self.webkit.actions({"type": "key", "id": "keyboard",
                             "actions": [{"type": "keyDown", "value": value},
                                         {"type": "keyUp", "value": value}]})

    def screenshot(self, path: Path) -> None:
        """The page from its top, as far as the window shows it: W3C WebDriver has no
        full-page screenshot, and WebKitGTK's element screenshot paints sticky parts black."""
        self.webkit.send("POST", f"{self.webkit.session}/execute/async", {"args": [], "script": (
            "const done = arguments[0]; scrollTo(0, 0); "
            "requestAnimationFrame(() => requestAnimationFrame(() => done()));")})
        png = self.webkit.send("GET", f"{self.webkit.session}/screenshot")
        path.write_bytes(base64.b64decode(png))

    def seen(self) -> dict[str, list[str]]:
        return self.evaluate(_SEEN)

    def close(self) -> None:
        self.webkit.send("POST", f"{self.webkit.session}/url", {"url": "about:blank"})


def firefox():
    """Firefox ESR for a module's tests, or a skip that says what to install."""
    executable = shutil.which("firefox-esr") or shutil.which("firefox")
    if not executable:
        pytest.skip("Firefox is not installed (apt-get install firefox-esr; .ci/run does it)")
    if not (NODE_MODULES / "puppeteer-core").exists() or not shutil.which("node"):
        pytest.skip("puppeteer-core is not installed: npm ci --prefix tests/browser "
                    "(.ci/run does it)")
    return Firefox(executable)


def webkit():
    """WebKitGTK for a module's tests, or a skip that says what to install."""
    driver, xvfb = shutil.which("WebKitWebDriver"), shutil.which("Xvfb")
    if not driver or not xvfb:
        pytest.skip("WebKitGTK's WebDriver or Xvfb is not installed (apt-get install "
                    "webkit2gtk-driver xvfb; .ci/run does it)")
    return WebKit(driver, xvfb)
