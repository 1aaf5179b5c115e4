"""What the tracker web page's browser test (web_browser_test.py) and its load benchmark
(tests/bench/web_bench.py) share: the processes they start (a tracker with `--web-listen`,
boards), plain HTTP requests to the page and its JSON API (docs/web.md), and headless Chromium
driven through WebDriver (Debian's chromium, chromium-driver and python3-selenium, which
scripts/install-deps.sh installs).

Every process's stdout and stderr go to files in the work dir, named after it, so a failure
can quote them; Processes.stop_all() ends each process it started by its pid.
"""
import importlib.util
import json
import os
import re
import secrets
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
INSTALL_HINT = "scripts/install-deps.sh installs chromium, chromium-driver and python3-selenium"
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--window-size=1280,1000"]


class Fatal(Exception):
    """A failure after which the rest of a test cannot run (the tracker did not start, ...)."""


class Processes:
    """The processes a test starts, with their output in WORKDIR/NAME.out and NAME.err."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.running = {}  # name -> Popen

    def start(self, name, argv, env=None):
        out = open(os.path.join(self.workdir, name + ".out"), "wb")
        err = open(os.path.join(self.workdir, name + ".err"), "wb")
        with out, err:
            process = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                       env=env)
        self.running[name] = process
        return process

    def output(self, name, stream="out"):
        try:
            with open(os.path.join(self.workdir, f"{name}.{stream}"), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stderr_tail(self, name, chars=2000):
        return self.output(name, "err")[-chars:]

    def wait_for_line(self, name, pattern, timeout_s, stream="out"):
        """The first match of the regex `pattern` in NAME's stdout (or `stream` "err"); Fatal
        when the process exits or `timeout_s` passes first, quoting its stderr."""
        deadline = time.time() + timeout_s
        process = self.running[name]
        while time.time() < deadline:
            match = re.search(pattern, self.output(name, stream), re.MULTILINE)
            if match:
                return match
            if process.poll() is not None:
                raise Fatal(f"{name} exited with {process.returncode} before printing "
                            f"/{pattern}/: {self.stderr_tail(name)}")
            time.sleep(0.05)
        raise Fatal(f"{name} printed no /{pattern}/ in {timeout_s} s: {self.output(name)!r} "
                    f"{self.stderr_tail(name)}")

    def kill(self, name, sig=signal.SIGKILL):
        process = self.running.pop(name)
        process.send_signal(sig)
        process.wait()

    def stop_all(self):
        for name, process in list(self.running.items()):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for name, process in list(self.running.items()):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGKILL)
                process.wait()
        self.running.clear()


def write_token(path):
    """A fresh random token, written to `path` (mode 0600) with a trailing newline."""
    token = secrets.token_urlsafe(24)
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(token + "\n")
    return token


def start_tracker(processes, fleettune, name, client_token_file, board_token_file, extra=()):
    """Starts `fleettune tracker` on loopback with free ports and the web page; returns its
    gRPC address (HOST:PORT) and the page's base URL (ending in '/'), as it prints them."""
    processes.start(name, [fleettune, "tracker", "--listen", "127.0.0.1:0",
                           "--web-listen", "127.0.0.1:0",
                           "--client-token-file", client_token_file,
                           "--board-token-file", board_token_file, *extra])
    grpc = processes.wait_for_line(name, r"^fleettune tracker listening on (\S+)$", 30)
    web = processes.wait_for_line(name, r"^web page at (https?://\S+/)$", 30)
    return grpc.group(1), web.group(1)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # an email.message.Message: .get(name), .get_all(name)
        self.body = body  # bytes

    def text(self):
        return self.body.decode("utf-8", errors="replace")

    def json(self):
        return json.loads(self.body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 303 comes back as it is, so its Location and Set-Cookie can be read


def http(url, token=None, method="GET", form=None, cookie=None, ca_file=None, timeout_s=30,
         headers=None):
    """One request, redirects not followed; any HTTP status comes back as a Response (network
    failures raise OSError). `token` is sent as `Authorization: Bearer`, `form` (a dict) as
    application/x-www-form-urlencoded, `cookie` as the Cookie header, `headers` (a dict) as
    they are; `ca_file` verifies TLS. A compressed body comes back as it was sent."""
    data = None
    request = urllib.request.Request(url, method=method, headers=headers or {})
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    if cookie is not None:
        request.add_header("Cookie", cookie)
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    handlers = [_NoRedirect()]
    if ca_file is not None:
        handlers.append(urllib.request.HTTPSHandler(
            context=ssl.create_default_context(cafile=ca_file)))
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(request, data=data, timeout=timeout_s) as reply:
            return Response(reply.status, reply.headers, reply.read())
    except urllib.error.HTTPError as error:
        return Response(error.code, error.headers, error.read())


def api(base_url, path, token, ca_file=None):
    """GET base_url + path with the bearer token: its JSON; Fatal unless it answers 200."""
    reply = http(base_url + path.lstrip("/"), token=token, ca_file=ca_file)
    if reply.status != 200:
        raise Fatal(f"GET /{path.lstrip('/')} with the right token: {reply.status} "
                    f"{reply.text()[:500]}")
    return reply.json()


def wait_until(predicate, timeout_s, interval_s=0.25):
    """Calls `predicate` until it returns something true or `timeout_s` passes; returns the
    last value."""
    deadline = time.time() + timeout_s
    while True:
        value = predicate()
        if value or time.time() >= deadline:
            return value
        time.sleep(interval_s)


def board_ids(base_url, token, key, ca_file=None):
    """The ids of the live boards of `key` that /api/v1/boards lists."""
    boards = api(base_url, "api/v1/boards", token, ca_file)["boards"]
    return {board["boardId"] for board in boards if board["info"]["key"] == key}


def missing_browser():
    """What is missing for headless Chromium through WebDriver, or None when nothing is."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return f"{path} is missing: {INSTALL_HINT}"
    if importlib.util.find_spec("selenium") is None:  # Debian's python3-selenium
        return f"python3 cannot import selenium: {INSTALL_HINT}"
    return None


class Browser:
    """Headless Chromium with a fresh profile in WORKDIR/NAME-profile, driven by chromedriver
    on a loopback port (its log in WORKDIR/NAME-chromedriver.log)."""

    def __init__(self, workdir, name="chromium"):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        profile = os.path.join(workdir, name + "-profile")
        subprocess.run(["rm", "-rf", profile], check=True)
        options.add_argument(f"--user-data-dir={profile}")
        service = Service(executable_path=CHROMEDRIVER,
                          log_path=os.path.join(workdir, name + "-chromedriver.log"))
        self.driver = webdriver.Chrome(service=service, options=options)
        self.driver.set_page_load_timeout(60)

    def get(self, url):
        self.driver.get(url)

    def css(self, selector):
        from selenium.webdriver.common.by import By
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def count(self, selector):
        return self.script(f"return document.querySelectorAll({json.dumps(selector)}).length")

    def snapshot(self, selector, attribute):
        """[(the value of `attribute`, innerText)] of each element `selector` matches, read in
        one script so a re-render in between cannot leave a stale element."""
        return [tuple(pair) for pair in self.script(
            "return [...document.querySelectorAll(arguments[0])]"
            ".map(e => [e.getAttribute(arguments[1]), e.innerText])", selector, attribute)]

    def script(self, source, *args):
        return self.driver.execute_script(source, *args)

    def wait_for(self, selector, timeout_s=30):
        """The elements `selector` matches once there is one; [] after `timeout_s`."""
        return wait_until(lambda: self.css(selector), timeout_s, 0.1)

    def wait_view(self, view, timeout_s=30):
        """Whether body[data-view=VIEW][data-ready="1"] (the view drew data) within timeout."""
        return bool(self.wait_for(f'body[data-view="{view}"][data-ready="1"]', timeout_s))

    def sign_in(self, token):
        """Types `token` into form#login and submits it; waits for the next page to load."""
        field = self.css('form#login input[name="token"]')
        if not field:
            raise Fatal("no form#login input[name=token] to sign in with")
        old = self.driver.find_element("tag name", "html")
        field[0].send_keys(token)
        buttons = self.css('form#login button, form#login input[type="submit"]')
        if not buttons:
            raise Fatal("form#login has no submit button")
        buttons[0].click()
        # The submit replaces the document: wait until the old one is gone.
        from selenium.common.exceptions import StaleElementReferenceException

        def replaced():
            try:
                old.tag_name
                return False
            except StaleElementReferenceException:
                return True
        wait_until(replaced, 30, 0.05)
        wait_until(lambda: self.script("return document.readyState") == "complete", 30, 0.05)

    def screenshot(self, path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return self.driver.save_screenshot(path)

    def quit(self):
        self.driver.quit()
