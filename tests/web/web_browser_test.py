#!/usr/bin/python3
"""The tracker's web page (docs/web.md) end to end: a real tracker process with --web-listen and
a client token, two real boards, a short real tuning job, then headless Chromium through
WebDriver and plain HTTP requests.

- Without a session only the login page is served: `/` is form#login (no script, no app
  content), /api/v1/boards and the app's script answer 401 without board data; a wrong token
  (form or Bearer) gets 401 and "wrong token", a right Bearer token gets the API.
- POST /login with the right token answers 303 and an HttpOnly, SameSite=Strict session cookie
  that is not the token; /logout ends the session.
- The fleet page lists exactly the boards /api/v1/boards lists (tr[data-board]); the queues
  page lists the key; the jobs page lists the job; the job page's svg#trials-plot holds one
  .trial per trial the database holds (= the API's summary.trials), OK ones as circles.
- The API's job summary and history agree with the database (trials, statuses, costs).
- No page and no URL ever holds the token.
- A board killed with SIGKILL shows as data-state="lost", reading "gone", on the fleet page.
- With --tls-cert/--tls-key the page answers over HTTPS (verified with the test CA), its
  session cookie is Secure, and plain HTTP gets no page.

A second job whose every trial times out (--timeout-ms 1), named with characters a URL must
encode, shows its failures: one path.trial.failed per trial and table#failures by status.

A screenshot of each page goes to SCREENSHOTS (login, wrong token, fleet, queues, jobs, job,
the failing job, fleet after the kill, after logout).

Usage: web_browser_test.py FLEETTUNE RPC_SERVER WORKDIR SCREENSHOTS
"""
import collections
import json
import math
import os
import secrets
import shutil
import subprocess
import sys
import traceback
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "graph"))
from checks import check, finish  # noqa: E402  (tests/graph/checks.py)
from web_fleet import (Browser, Fatal, Processes, api, board_ids, http,  # noqa: E402
                       missing_browser, start_tracker, wait_until, write_token)

KEY = "webtest"
TRIALS = 8
FAILING_TRIALS = 4
FAILING_JOB = "timeouts: 1 ms / job #2 (ü)"  # '/', '#', ' ', ':' and non-ASCII in a URL
WORKLOAD = "matmul:m=64,n=64,k=64"
APP_SCRIPT = "static/app.js"  # the page's script, served only with a session
SESSION_COOKIE = "fleettune_session"
WRONG_TOKEN = secrets.token_urlsafe(24)  # unrelated to the right one, so no echo of it matches


def export(fleettune, db):
    lines = subprocess.run([fleettune, "db", "export", "--db", db], capture_output=True,
                           text=True, check=True).stdout.splitlines()
    return [json.loads(line) for line in lines[1:] if line.strip()]


def close(a, b, rel=1e-6):
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-15)


def encode_component(text):
    """JavaScript's encodeURIComponent."""
    return urllib.parse.quote(text, safe="-_.!~*'()")


def start_fleet(processes, fleettune, rpc_server, workdir):
    """The tracker and two boards; returns (grpc address, base URL, client token, board ids by
    process name)."""
    client_file = os.path.join(workdir, "client.token")
    board_file = os.path.join(workdir, "board.token")
    token = write_token(client_file)
    write_token(board_file)
    grpc, base = start_tracker(processes, fleettune, "tracker", client_file, board_file,
                               ["--board-silence", "8", "--lost-board-retention", "600"])
    check(base.startswith("http://127.0.0.1:"), f"the tracker printed the web page at {base}")
    boards = {}
    for name in ("board-a", "board-b"):
        processes.start(name, [rpc_server, "--tracker", grpc, "--key", KEY,
                               "--token-file", board_file])
    for name in ("board-a", "board-b"):
        match = processes.wait_for_line(name, r"registered with tracker at \S+ as board (\S+) ",
                                        30, stream="err")
        boards[name] = match.group(1)
    listed = wait_until(lambda: board_ids(base, token, KEY) == set(boards.values()), 30)
    if not listed:
        raise Fatal(f"/api/v1/boards does not list the boards {sorted(boards.values())}: "
                    f"{sorted(board_ids(base, token, KEY))}")
    return grpc, base, token, client_file, boards


def run_job(fleettune, grpc, client_file, db, trials, extra):
    """A short tuning job of WORKLOAD on the two boards; returns the database's records and
    tune's exit status."""
    job = subprocess.run([fleettune, "tune", "--tracker", grpc, "--token-file", client_file,
                          "--key", KEY, "--workload", WORKLOAD, "--target", "host -threads=1",
                          "--trials", str(trials), "--batch-size", "4", "--tuner", "random",
                          "--repeat", "3", "--min-repeat-ms", "5", "--db", db, "--quiet",
                          *extra], capture_output=True, text=True, timeout=240)
    records = export(fleettune, db) if os.path.exists(db) else []
    check(len(records) == trials,
          f"{db}: the database holds {len(records)} trials, --trials {trials}: "
          f"{job.stderr[-1000:]}")
    if not records:
        raise Fatal(f"the job recorded nothing: exit {job.returncode}: {job.stderr[-2000:]}")
    return records, job.returncode


def run_jobs(fleettune, grpc, client_file, workdir):
    """Two jobs: TRIALS trials with a confirmation round (every one OK), and FAILING_TRIALS
    that all time out (--timeout-ms 1) under a name that needs URL encoding; returns the
    records of each."""
    good, status = run_job(fleettune, grpc, client_file, os.path.join(workdir, "web.db"),
                           TRIALS, ["--confirm-top", "2", "--confirm-rounds", "3"])
    check(status == 0, f"tune: exit {status}")
    check(all(record["status"] == "OK" for record in good),
          f"the first job's statuses {[record['status'] for record in good]}")
    failing, _ = run_job(fleettune, grpc, client_file, os.path.join(workdir, "timeouts.db"),
                         FAILING_TRIALS, ["--timeout-ms", "1", "--confirm-top", "0",
                                          "--job", FAILING_JOB])
    check([record["status"] for record in failing] == ["TIMEOUT"] * FAILING_TRIALS,
          f"the --timeout-ms 1 job's statuses {[record['status'] for record in failing]}")
    return good, failing


def check_unauthenticated(base, token, boards):
    """What a caller without a session gets, over plain HTTP."""
    ids = list(boards.values())
    root = http(base)
    check(root.status == 200, f"GET / without a session: {root.status}, expected 200")
    check('id="login"' in root.text() and "<script" not in root.text(),
          f"GET / without a session is not the script-free login page: {root.text()[:300]!r}")
    # The login page has no script: its policy allows nothing but its inline style.
    for header, value in (("Content-Security-Policy", "default-src 'none'"),
                          ("X-Frame-Options", "DENY"), ("Cache-Control", "no-store")):
        check(value in (root.headers.get(header) or ""),
              f"GET / without a session: {header} is {root.headers.get(header)!r}, "
              f"expected {value!r}")
    for path in ("api/v1/boards", "api/v1/jobs", "api/v1/status", APP_SCRIPT, "app.js"):
        reply = http(base + path)
        check(reply.status == 401, f"GET /{path} without a session: {reply.status}, expected 401")
        check(not any(board in reply.text() for board in ids),
              f"GET /{path} without a session shows a board id: {reply.text()[:300]!r}")
        check("fleettuneStats" not in reply.text(),
              f"GET /{path} without a session serves the app's script")
        if path.startswith("api/"):
            check("error" in json_or_empty(reply),
                  f"GET /{path} without a session: no {{\"error\"}} body: {reply.text()[:200]!r}")
        else:
            check('id="login"' in reply.text(),
                  f"GET /{path} without a session does not answer the login page")
    wrong = http(base + "api/v1/boards", token=WRONG_TOKEN)
    check(wrong.status == 401, f"a wrong Bearer token: {wrong.status}, expected 401")
    check(not any(board in wrong.text() for board in ids), "a wrong Bearer token sees boards")
    right = http(base + "api/v1/boards", token=token)
    check(right.status == 200, f"the right Bearer token: {right.status}, expected 200")
    check(right.status != 200 or
          {b["boardId"] for b in right.json()["boards"]} == set(ids),
          f"/api/v1/boards with the Bearer token: {right.text()[:300]!r}")


def json_or_empty(reply):
    try:
        value = reply.json()
        return value if isinstance(value, dict) else {}
    except ValueError:
        return {}


def session_cookie(reply):
    """The fleettune_session Set-Cookie header of `reply`, or ""."""
    for header in reply.headers.get_all("Set-Cookie") or []:
        if header.startswith(SESSION_COOKIE + "="):
            return header
    return ""


def check_login_form(base, token, secure, ca_file=None):
    """POST /login over HTTP(S): a wrong token gets 401 and no cookie, the right one 303 and a
    session cookie that works until /logout."""
    where = "https" if secure else "http"
    wrong = http(base + "login", method="POST", form={"token": WRONG_TOKEN}, ca_file=ca_file)
    check(wrong.status == 401 and "wrong token" in wrong.text(),
          f"{where}: POST /login with a wrong token: {wrong.status} {wrong.text()[:200]!r}")
    check(not session_cookie(wrong), f"{where}: a wrong token got a session cookie")
    check(WRONG_TOKEN not in wrong.text(), f"{where}: the login page echoes the wrong token")
    right = http(base + "login", method="POST", form={"token": token}, ca_file=ca_file)
    check(right.status == 303, f"{where}: POST /login with the right token: {right.status}")
    location = right.headers.get("Location") or ""
    check(location in ("/", base), f"{where}: POST /login redirects to {location!r}, not /")
    cookie = session_cookie(right)
    attributes = [part.strip().lower() for part in cookie.split(";")[1:]]
    for attribute in ("httponly", "samesite=strict", "path=/"):
        check(attribute in attributes, f"{where}: the session cookie lacks {attribute}: {cookie}")
    check(("secure" in attributes) == secure,
          f"{where}: the session cookie's Secure is {'secure' in attributes}: {cookie}")
    check(token not in cookie and token not in right.text(),
          f"{where}: the login answer holds the token")
    session = cookie.split(";")[0]
    check(len(session) - len(SESSION_COOKIE) - 1 >= 22,
          f"{where}: the session id is too short for 128 bits: {session}")
    with_session = http(base + "api/v1/boards", cookie=session, ca_file=ca_file)
    check(with_session.status == 200, f"{where}: the session cookie: {with_session.status}")
    app = http(base, cookie=session, ca_file=ca_file)
    check(app.status == 200 and "<script" in app.text() and token not in app.text(),
          f"{where}: GET / with a session: {app.status} {app.text()[:200]!r}")
    for header, value in (("Content-Security-Policy", "default-src 'self'"),
                          ("X-Frame-Options", "DENY"), ("Cache-Control", "no-store")):
        check(value in (app.headers.get(header) or ""),
              f"{where}: GET / with a session: {header} is {app.headers.get(header)!r}")
    logout = http(base + "logout", method="POST", cookie=session, ca_file=ca_file)
    check(logout.status in (200, 303), f"{where}: POST /logout: {logout.status}")
    after = http(base + "api/v1/boards", cookie=session, ca_file=ca_file)
    check(after.status == 401, f"{where}: the session after /logout: {after.status}, expected 401")


def check_api_job(base, token, records, boards, confirmed):
    """/api/v1/jobs and the job's history against the job's database records (`confirmed`:
    it ran a confirmation round); returns the job's summary."""
    name = records[0]["job"]
    statuses = collections.Counter(record["status"] for record in records)
    ok_costs = sorted(record["mean_cost"] for record in records if record["status"] == "OK")
    jobs = {job["name"]: job for job in api(base, "api/v1/jobs", token)["jobs"]}
    if name not in jobs:
        raise Fatal(f"/api/v1/jobs does not list the job {name!r}: {sorted(jobs)}")
    summary = jobs[name]
    expected = {"deviceKey": KEY, "kind": "tune", "state": "finished",
                "trials": str(len(records)), "ok": str(statuses["OK"]),
                "totalTrials": str(len(records)), "pending": "0", "running": "0"}
    for field, value in expected.items():
        check(str(summary.get(field)) == value,
              f"job summary {field} is {summary.get(field)!r}, expected {value!r}")
    failures = {status: count for status, count in statuses.items() if status != "OK"}
    check({k: int(v) for k, v in summary.get("failures", {}).items()} == failures,
          f"job summary failures {summary.get('failures')}, the database {failures}")
    confirmations = int(summary.get("confirmationTasks", 0))
    check(confirmations >= 1 if confirmed else confirmations == 0,
          f"job summary confirmationTasks {confirmations} "
          f"{'after' if confirmed else 'without'} a confirmation round")
    best = float(summary.get("bestSeconds", 0))
    check(close(best, ok_costs[0]) if ok_costs else best == 0,
          f"job summary bestSeconds {best}, the database's best {ok_costs[:1]}")

    path = f"api/v1/jobs/{encode_component(name)}/history"
    history = api(base, path + "?since=0", token)
    trials = history.get("trials", {})
    check(history.get("first") == 0 and history.get("next") == len(records),
          f"history first/next {history.get('first')}/{history.get('next')}, "
          f"{len(records)} trials")
    for column in ("unixMs", "status", "seconds", "gflops", "board", "workload"):
        check(len(trials.get(column, [])) == len(records),
              f"history trials.{column} has {len(trials.get(column, []))} entries, "
              f"the database {len(records)} trials")
    check(collections.Counter(trials.get("status", [])) == statuses,
          f"history statuses {collections.Counter(trials.get('status', []))}, "
          f"the database {statuses}")
    seconds = sorted(s for s, st in zip(trials.get("seconds", []), trials.get("status", []))
                     if st == "OK")
    check(len(seconds) == len(ok_costs) and all(map(close, seconds, ok_costs)),
          f"history seconds {seconds}, the database's mean costs {ok_costs}")
    used = {b for b in trials.get("board", []) if b}
    check(used <= set(boards.values()) and (used or not ok_costs),
          f"history boards {used}, the fleet {set(boards.values())}")
    check(history.get("workloads") == [WORKLOAD],
          f"history workloads {history.get('workloads')}, expected [{WORKLOAD!r}]")
    tail = api(base, f"{path}?since={len(records)}", token)
    check(tail.get("trials", {}).get("status") == [] and tail.get("next") == len(records),
          f"history since={len(records)} is not empty: {json.dumps(tail)[:300]}")
    for query, status in (("?since=x", 400), ("?since=-1", 400)):
        reply = http(base + path + query, token=token)
        check(reply.status == status, f"GET history{query}: {reply.status}, expected {status}")
    return summary


def check_api(base, token, good, failing, boards):
    """The API's view of both jobs, an unknown job, and the queues; returns the summaries."""
    summaries = (check_api_job(base, token, good, boards, confirmed=True),
                 check_api_job(base, token, failing, boards, confirmed=False))
    unknown = http(base + "api/v1/jobs/no-such-job/history", token=token)
    check(unknown.status == 404 and "error" in json_or_empty(unknown),
          f"history of an unknown job: {unknown.status} {unknown.text()[:200]!r}")
    queues = {q["deviceKey"]: q for q in api(base, "api/v1/queues", token)["queues"]}
    check(KEY in queues and str(queues[KEY].get("boards")) == "2",
          f"/api/v1/queues for {KEY}: {queues.get(KEY)}")
    return summaries


class Pages:
    """The browser's pages, each checked never to hold the token, with screenshots."""

    def __init__(self, browser, base, token, shots):
        self.browser, self.base, self.token, self.shots = browser, base, token, shots

    def secret_free(self, where):
        source = self.browser.driver.page_source
        url = self.browser.driver.current_url
        for name, secret in (("the token", self.token), ("the wrong token", WRONG_TOKEN)):
            check(secret not in source, f"{where}: the page holds {name}")
            check(secret not in url, f"{where}: the URL holds {name}: {url}")

    def shot(self, name):
        path = os.path.join(self.shots, name)
        check(self.browser.screenshot(path), f"no screenshot {path}")

    def no_app(self, where):
        for selector in ("table#boards", "nav", "button#logout", "tr[data-board]", "script"):
            check(self.browser.count(selector) == 0, f"{where}: the page has {selector}")

    def open_view(self, link, view, selector, timeout_s=30):
        """Clicks nav a[href=LINK] and waits for `selector` in the view VIEW."""
        links = self.browser.css(f'nav a[href="{link}"]')
        if not links:
            raise Fatal(f"no nav a[href=\"{link}\"] on the page")
        links[0].click()
        found = self.browser.wait_for(selector, timeout_s)
        check(found, f"{view} view: no {selector} within {timeout_s} s")
        check(self.browser.wait_view(view, 5),
              f"{view} view: body is not data-view={view} data-ready=1")
        return found


def check_browser(browser, base, token, jobs, boards, shots):
    """The pages in the browser; `jobs`: ((records, summary) of the OK job, of the failing
    job)."""
    (records, summary), (failing, failing_summary) = jobs
    pages = Pages(browser, base, token, shots)
    ids = set(boards.values())

    browser.get(base)
    check(browser.wait_for("form#login"), "GET / in the browser: no form#login")
    check(browser.count('form#login input[name="token"][type="password"]') == 1,
          "the login form has no password input named token")
    pages.no_app("the login page")
    pages.shot("01-login.png")

    browser.sign_in(WRONG_TOKEN)
    error = [text for _, text in browser.snapshot("p#login-error", "id")]
    check(len(error) == 1 and "wrong token" in error[0],
          f"after a wrong token p#login-error reads {error!r}")
    check(browser.count("form#login") == 1, "after a wrong token there is no form#login")
    pages.no_app("the login page after a wrong token")
    check(not browser.driver.get_cookie(SESSION_COOKIE), "a wrong token got a session cookie")
    pages.secret_free("the login page after a wrong token")
    pages.shot("02-login-wrong-token.png")
    browser.get(base + "api/v1/boards")
    check(not any(board in browser.driver.page_source for board in ids),
          "the browser without a session sees board ids at /api/v1/boards")

    browser.get(base)
    browser.sign_in(token)
    check(browser.wait_view("fleet"), "after signing in: no fleet view with data "
          f"(body data-view={browser.script('return document.body.dataset.view')!r})")
    shown = wait_until(lambda: board_states(browser).keys() == ids, 10)
    rows = board_states(browser)
    check(shown, f"the fleet page lists boards {sorted(rows)}, /api/v1/boards {sorted(ids)}")
    check(all(state in ("idle", "busy") for state in rows.values()),
          f"the fleet page's board states {rows}")
    check(browser.count("#fleet-summary") == 1, "the fleet page has no #fleet-summary")
    for link in ("#/fleet", "#/queues", "#/jobs"):
        check(browser.count(f'nav a[href="{link}"]') == 1, f"no nav a[href=\"{link}\"]")
    check(browser.count("button#logout") == 1, "no button#logout")
    cookie = browser.driver.get_cookie(SESSION_COOKIE) or {}
    check(cookie.get("httpOnly") is True and cookie.get("sameSite") == "Strict",
          f"the session cookie in the browser: {cookie}")
    check(cookie.get("value") and token not in cookie.get("value"),
          "the session cookie holds the token")
    check(SESSION_COOKIE not in browser.script("return document.cookie"),
          "the page's script can read the session cookie")
    pages.secret_free("the fleet page")
    pages.shot("03-fleet.png")

    pages.open_view("#/queues", "queues", f'table#queues tr[data-key="{KEY}"]')
    pages.secret_free("the queues page")
    pages.shot("04-queues.png")

    name = records[0]["job"]
    row_selector = f"table#jobs tr[data-job={json.dumps(name)}]"
    job_rows = pages.open_view("#/jobs", "jobs", row_selector)
    check(len(job_rows) == 1, f"the jobs page has {len(job_rows)} rows for the job {name!r}")
    listed = {job for job, _ in browser.snapshot("table#jobs tr[data-job]", "data-job")}
    check(listed == {name, FAILING_JOB}, f"the jobs page lists {listed}, expected "
          f"{ {name, FAILING_JOB} }")
    pages.secret_free("the jobs page")
    pages.shot("05-jobs.png")

    link = browser.css(row_selector + " a")
    if not link:
        raise Fatal(f"the job's row {row_selector} has no link")
    link[0].click()
    check(browser.wait_for("svg#trials-plot .trial"), "the job page: no svg#trials-plot .trial")
    check(browser.wait_view("job", 10), "the job page: body is not data-view=job data-ready=1")
    expected_hash = "#/jobs/" + encode_component(name)
    check(browser.script("return location.hash") == expected_hash,
          f"the job link goes to {browser.script('return location.hash')!r}, "
          f"expected {expected_hash!r}")
    check_job_plot(browser, records, summary, "the job page")
    pages.secret_free("the job page")
    pages.shot("06-job.png")

    # The job's page loaded fresh from its URL draws the same plot.
    browser.get("about:blank")
    browser.get(base + expected_hash)
    check(browser.wait_view("job"), "the job's URL loaded fresh: no job view with data")
    check_job_plot(browser, records, summary, "the job's URL loaded fresh")

    # The failing job, by its URL: crosses on the axis, a failures row per status.
    browser.get("about:blank")
    browser.get(base + "#/jobs/" + encode_component(FAILING_JOB))
    check(browser.wait_view("job"), f"the job {FAILING_JOB!r} by URL: no job view with data")
    check(browser.count("p#job-missing:not([hidden])") == 0,
          f"the job {FAILING_JOB!r} by URL shows p#job-missing")
    check_job_plot(browser, failing, failing_summary, f"the job {FAILING_JOB!r}")
    pages.secret_free("the failing job's page")
    pages.shot("07-job-timeouts.png")
    return pages


def board_states(browser):
    """{board id: data-state} of the rows of table#boards."""
    return {board: state for board, state in browser.script(
        "return [...document.querySelectorAll('table#boards tr[data-board]')]"
        ".map(r => [r.dataset.board, r.dataset.state])")}


def check_job_plot(browser, records, summary, where):
    n = len(records)
    wait_until(lambda: browser.count("svg#trials-plot .trial") == n, 10)
    count = browser.count("svg#trials-plot .trial")
    check(count == n == int(summary["trials"]),
          f"{where}: svg#trials-plot has {count} .trial, the database {n} trials, the API's "
          f"summary.trials {summary['trials']}")
    ok = sum(record["status"] == "OK" for record in records)
    circles = browser.count("svg#trials-plot circle.trial")
    failed = browser.count("svg#trials-plot path.trial.failed")
    check(circles == ok and failed == n - ok,
          f"{where}: {circles} circle.trial and {failed} path.trial.failed, the database "
          f"{ok} OK of {n}")
    numbers = browser.script("return [...document.querySelectorAll('svg#trials-plot .trial')]"
                             ".map(e => Number(e.dataset.trial))")
    check(sorted(numbers) == list(range(n)), f"{where}: data-trial values {sorted(numbers)}")
    statuses = collections.Counter(browser.script(
        "return [...document.querySelectorAll('svg#trials-plot .trial')]"
        ".map(e => e.dataset.status)"))
    expected = collections.Counter(record["status"] for record in records)
    check(statuses == expected, f"{where}: data-status {dict(statuses)}, the database "
          f"{dict(expected)}")
    check(browser.count("path#best-line") == 1, f"{where}: no path#best-line")
    failures = {status for status, _ in browser.snapshot("table#failures tr[data-status]",
                                                          "data-status")}
    check(failures == set(expected) - {"OK"},
          f"{where}: table#failures rows {failures}, the database's failures "
          f"{set(expected) - {'OK'}}")


def check_lost_board(browser, pages, base, token, processes, boards):
    """SIGKILLs board-a; the fleet page must show it lost ("gone"), board-b still up."""
    browser.get(base + "#/fleet")
    check(browser.wait_view("fleet"), "back on #/fleet: no fleet view with data")
    killed, alive = boards["board-a"], boards["board-b"]
    processes.kill("board-a")
    lost = f'table#boards tr[data-board="{killed}"][data-state="lost"]'
    check(browser.wait_for(lost, 60),
          f"60 s after SIGKILL board {killed} is not {lost}: {board_states(browser)}")
    texts = [text for _, text in browser.snapshot(lost, "data-board")]
    check(len(texts) == 1 and "gone" in texts[0],
          f"the lost board's rows read {texts!r}, expected one with 'gone'")
    states = board_states(browser)
    check(states.get(alive) in ("idle", "busy"), f"the board left alive is {states.get(alive)!r}")
    lost_api = {b["boardId"]: b for b in api(base, "api/v1/boards", token)["lostBoards"]}
    check(killed in lost_api and lost_api[killed]["state"] == "lost",
          f"/api/v1/boards lostBoards {sorted(lost_api)} lacks {killed} as lost")
    pages.secret_free("the fleet page after the kill")
    pages.shot("08-fleet-after-kill.png")

    buttons = browser.css("button#logout")
    if buttons:
        buttons[0].click()
        check(browser.wait_for("form#login", 15), "after logout: no login page")
        browser.get(base + "#/fleet")
        check(browser.wait_for("form#login", 15), "#/fleet after logout: no login page")
        pages.no_app("#/fleet after logout")
        pages.shot("09-after-logout.png")


def check_tls(processes, fleettune, workdir):
    """A tracker with a certificate serves its page over HTTPS only."""
    d = os.path.join(workdir, "tls")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "tracker.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for step in (["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
                  "ca.pem", "-days", "1", "-subj", "/CN=web test CA"],
                 ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "tracker.key", "-out",
                  "tracker.csr", "-subj", "/CN=web test tracker"],
                 ["x509", "-req", "-in", "tracker.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                  "-CAcreateserial", "-out", "tracker.pem", "-days", "1", "-extfile",
                  "tracker.ext"]):
        made = subprocess.run(["/usr/bin/openssl", *step], cwd=d, capture_output=True, text=True)
        if made.returncode != 0:
            raise Fatal(f"openssl {step[0]}: {made.stderr}")
    client_file = os.path.join(d, "client.token")
    board_file = os.path.join(d, "board.token")
    token = write_token(client_file)
    write_token(board_file)
    _, base = start_tracker(processes, fleettune, "tracker-tls", client_file, board_file,
                            ["--tls-cert", os.path.join(d, "tracker.pem"),
                             "--tls-key", os.path.join(d, "tracker.key")])
    if not base.startswith("https://"):
        raise Fatal(f"the TLS tracker printed its page at {base}, not https://")
    ca = os.path.join(d, "ca.pem")
    root = http(base, ca_file=ca)
    check(root.status == 200 and 'id="login"' in root.text(),
          f"https: GET / {root.status} {root.text()[:200]!r}")
    boards = http(base + "api/v1/boards", token=token, ca_file=ca)
    check(boards.status == 200 and "boards" in json_or_empty(boards),
          f"https: /api/v1/boards with the token: {boards.status}")
    check_login_form(base, token, secure=True, ca_file=ca)
    plain = "http://" + base[len("https://"):]
    try:
        reply = http(plain, timeout_s=10)
        check(reply.status != 200 or 'id="login"' not in reply.text(),
              f"plain http to the TLS listener answers the page: {reply.status}")
    except Exception:  # noqa: BLE001  (refused, reset, or not HTTP: all mean no page)
        pass


def main():
    fleettune, rpc_server, workdir, shots = sys.argv[1:5]
    missing = missing_browser()
    if missing:
        check(False, f"no headless browser for the web page test: {missing}")
        return finish()
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    shutil.rmtree(shots, ignore_errors=True)
    os.makedirs(shots)
    processes = Processes(workdir)
    browser = None
    try:
        grpc, base, token, client_file, boards = start_fleet(processes, fleettune, rpc_server,
                                                             workdir)
        check_unauthenticated(base, token, boards)
        check_login_form(base, token, secure=False)
        good, failing = run_jobs(fleettune, grpc, client_file, workdir)
        summaries = check_api(base, token, good, failing, boards)
        browser = Browser(workdir)
        pages = check_browser(browser, base, token, ((good, summaries[0]), (failing, summaries[1])),
                              boards, shots)
        check_lost_board(browser, pages, base, token, processes, boards)
        for name in ("tracker",):
            check(token not in processes.output(name) + processes.output(name, "err"),
                  f"the {name}'s output holds the client token")
        check_tls(processes, fleettune, workdir)
    except Fatal as error:
        check(False, str(error))
    except Exception as error:  # noqa: BLE001  (WebDriver, HTTP, ...: report it, clean up)
        traceback.print_exc()
        check(False, f"the test stopped on {type(error).__name__}: {str(error)[:500]}")
    finally:
        if browser is not None:
            browser.quit()
        processes.stop_all()
    print(f"screenshots in {shots}")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
