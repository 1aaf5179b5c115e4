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

A small model job (a generated four-task ONNX model, WRITE_MODEL) shows a trial per record, a
row per task (table#tasks) and its estimated latency over time (svg#estimate-plot).

A screenshot of each page goes to SCREENSHOTS (login, wrong token, fleet, queues, jobs, job,
the failing job, the model job, fleet after the kill, after logout).

The checks over plain HTTP(S) are in web_http_checks.py; the fleet's processes and the browser
in web_fleet.py (shared with tests/bench/web_bench.py).

Usage: web_browser_test.py FLEETTUNE RPC_SERVER WRITE_MODEL WORKDIR SCREENSHOTS
"""
import collections
import json
import os
import shutil
import subprocess
import sys
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "graph"))
from checks import check, finish  # noqa: E402  (tests/graph/checks.py)
from web_fleet import (Browser, Fatal, Processes, api, board_ids,  # noqa: E402
                       missing_browser, start_tracker, wait_until, write_token)
from web_http_checks import (KEY, SESSION_COOKIE, WORKLOAD, WRONG_TOKEN,  # noqa: E402
                             check_api, check_login_form, check_tls, check_unauthenticated,
                             encode_component)

TRIALS = 8
FAILING_TRIALS = 4
FAILING_JOB = "timeouts: 1 ms / job #2 (ü)"  # '/', '#', ' ', ':' and non-ASCII in a URL


def export(fleettune, db):
    lines = subprocess.run([fleettune, "db", "export", "--db", db], capture_output=True,
                           text=True, check=True).stdout.splitlines()
    return [json.loads(line) for line in lines[1:] if line.strip()]


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


def check_model_job(browser, pages, base, token, fleettune, grpc, client_file, write_model,
                    workdir):
    """A small model job (`tune --model` on a generated four-task model): its page shows a
    trial per database record, a row per task and the estimated latency over time."""
    model = os.path.join(workdir, "conv_chain.onnx")
    subprocess.run([sys.executable, write_model, "conv_chain", model], check=True)
    tasks = json.loads(subprocess.run([fleettune, "tasks", "--model", model, "--json"],
                                      capture_output=True, text=True, check=True).stdout)
    db = os.path.join(workdir, "model.db")
    job = subprocess.run([fleettune, "tune", "--model", model, "--tracker", grpc, "--token-file",
                          client_file, "--key", KEY, "--target", "host -threads=1", "--trials",
                          "16", "--batch-size", "4", "--repeat", "3", "--min-repeat-ms", "5",
                          "--confirm-top", "1", "--confirm-rounds", "3", "--db", db, "--quiet"],
                         capture_output=True, text=True, timeout=240)
    check(job.returncode == 0, f"tune --model: exit {job.returncode}: {job.stderr[-1000:]}")
    records = export(fleettune, db)
    if not records:
        raise Fatal("the model job recorded nothing")
    name = records[0]["job"]
    summary = api(base, "api/v1/jobs/" + encode_component(name) + "/history", token)["summary"]
    check(summary["kind"] == "model" and summary["state"] == "finished",
          f"the model job's summary: kind {summary['kind']}, state {summary['state']}")
    browser.get("about:blank")
    browser.get(base + "#/jobs/" + encode_component(name))
    check(browser.wait_view("job"), f"the model job {name!r}: no job view with data")
    check_job_plot(browser, records, summary, f"the model job {name!r}")
    rows = browser.count("table#tasks tbody tr")
    check(rows == len(tasks), f"the model job's table#tasks has {rows} rows, the model "
          f"{len(tasks)} tasks")
    check(browser.count("svg#estimate-plot path#estimate-line") == 1,
          "the model job's page has no svg#estimate-plot path#estimate-line")
    pages.secret_free("the model job's page")
    pages.shot("08-model-job.png")


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
    pages.shot("09-fleet-after-kill.png")

    buttons = browser.css("button#logout")
    if buttons:
        buttons[0].click()
        check(browser.wait_for("form#login", 15), "after logout: no login page")
        browser.get(base + "#/fleet")
        check(browser.wait_for("form#login", 15), "#/fleet after logout: no login page")
        pages.no_app("#/fleet after logout")
        pages.shot("10-after-logout.png")


def main():
    fleettune, rpc_server, write_model, workdir, shots = sys.argv[1:6]
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
        check_model_job(browser, pages, base, token, fleettune, grpc, client_file, write_model,
                        workdir)
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
