"""The tracker web page's checks over plain HTTP(S), without a browser (docs/web.md): what a
caller without a session gets, the login form's session cookie and logout, the JSON API's job
summary and history against the database, and the listener under TLS. web_browser_test.py
runs them beside its browser checks.
"""
import collections
import json
import math
import os
import secrets
import subprocess
import urllib.parse

from checks import check  # tests/graph/checks.py, on the path web_browser_test.py set
from web_fleet import Fatal, api, http, start_tracker, write_token

KEY = "webtest"
WORKLOAD = "matmul:m=64,n=64,k=64"
APP_SCRIPT = "static/app.js"  # the page's script, served only with a session
SESSION_COOKIE = "fleettune_session"
WRONG_TOKEN = secrets.token_urlsafe(24)  # unrelated to the right one, so no echo of it matches


def close(a, b, rel=1e-6):
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-15)


def encode_component(text):
    """JavaScript's encodeURIComponent."""
    return urllib.parse.quote(text, safe="-_.!~*'()")


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
