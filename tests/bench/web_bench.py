#!/usr/bin/python3
"""The tracker's web page under load (issue #23): a tracker process with --web-listen and 1,000
simulated boards (simulated_fleet), a tune job running on them (the boards answer every task OK
after --simulate-ms with a cost that depends on its config; the tuner builds real kernels), and
headless Chromium signed in to the page. Measures:

  1. loading the fleet page with every board a row: window.fleettuneStats.loadMs (navigation
     start to the first view drawn with data) and the navigation timing (response end,
     DOMContentLoaded, load event), over fresh loads (about:blank in between);
  2. each poll's update of that page while the job runs: fleettuneStats.updates' fetchMs
     (request to parsed JSON), renderMs (DOM update) and totalMs, over ~30 polls (2 s apart);
  3. GET /api/v1/boards from python (urllib, Bearer token): response time and size as sent,
     without Accept-Encoding, with gzip, and with what Chromium accepts (gzip, deflate, br,
     zstd), round-robin.

Prints the median and p90 of each. Checks (exit 1 when one fails): every board is a row of
table#boards after every load, the polls happen, the API lists every board.

Usage: web_bench.py FLEETTUNE SIMULATED_FLEET WORKDIR [--quick] [--boards N] [--polls N]
  --quick: 50 boards, 2 loads, 3 polls, 3 API requests each (the ctest smoke run)
"""
import argparse
import os
import shutil
import statistics
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "web"))
sys.path.insert(0, os.path.join(HERE, "..", "graph"))
from checks import check, finish  # noqa: E402  (tests/graph/checks.py)
from web_fleet import (Browser, Fatal, Processes, api, http, missing_browser,  # noqa: E402
                       start_tracker, wait_until, write_token)

KEY = "webbench"
SIMULATE_MS = 20
POLL_S = 2  # the page's poll interval (docs/web.md)


def percentile(values, p):
    """Nearest-rank percentile of `values` (p in [0, 1])."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p * len(ordered) + 0.5)) - 1))]


def start_job(processes, fleettune, grpc, client_file, workdir, base, token):
    """A long tune job on the simulated boards, stopped by stop_all(); waits for its first
    trials to reach the tracker and returns its name."""
    name = "web-bench-job"
    processes.start("tune", [fleettune, "tune", "--tracker", grpc, "--token-file", client_file,
                             "--key", KEY, "--workload", "matmul:m=256,n=256,k=256",
                             "--target", "host -threads=1", "--trials", "100000",
                             "--tuner", "random", "--batch-size", "16", "--builders", "1",
                             "--confirm-top", "0", "--job", name,
                             "--db", os.path.join(workdir, "bench.db"), "--quiet"])

    def started():
        if processes.running["tune"].poll() is not None:
            raise Fatal(f"the tune job exited with {processes.running['tune'].returncode}: "
                        f"{processes.stderr_tail('tune')}")
        return job_trials(base, token, name) > 0
    if not wait_until(started, 180, 0.5):
        raise Fatal(f"the tune job {name} has no trials on the tracker after 180 s")
    return name


def job_trials(base, token, name):
    """The trials /api/v1/jobs counts for the job `name` (0 when it is not listed)."""
    jobs = api(base, "api/v1/jobs", token)["jobs"]
    return next((int(job["trials"]) for job in jobs if job["name"] == name), 0)


def fleet_ids(browser):
    return browser.script("return [...document.querySelectorAll('table#boards tr[data-board]')]"
                          ".map(r => r.dataset.board)")


def measure_loads(browser, base, loads, boards, ids):
    """`loads` fresh loads of #/fleet; returns {measure: [ms per load]}."""
    figures = {"loadMs": [], "responseEnd": [], "domContentLoaded": [], "loadEventEnd": [],
               "firstFetchMs": [], "firstRenderMs": []}
    for i in range(loads):
        browser.get("about:blank")
        browser.get(base + "#/fleet")
        drawn = wait_until(lambda: browser.count("table#boards tr[data-board]") >= boards and
                           browser.css('body[data-view="fleet"][data-ready="1"]'), 120, 0.05)
        if not drawn:
            raise Fatal(f"load {i + 1}: the fleet page drew "
                        f"{browser.count('table#boards tr[data-board]')} of {boards} rows in 120 s")
        shown = fleet_ids(browser)
        check(len(shown) == boards and set(shown) == ids,
              f"load {i + 1}: table#boards has {len(shown)} rows ({len(set(shown))} distinct), "
              f"/api/v1/boards {len(ids)} boards, {len(set(shown) ^ ids)} differ")
        stats = browser.script("return window.fleettuneStats")
        check(stats and isinstance(stats.get("loadMs"), (int, float)) and stats["loadMs"] > 0,
              f"load {i + 1}: window.fleettuneStats.loadMs is {stats and stats.get('loadMs')!r}")
        figures["loadMs"].append((stats or {}).get("loadMs") or 0)
        first = ((stats or {}).get("updates") or [{}])[0]
        figures["firstFetchMs"].append(first.get("fetchMs") or 0)
        figures["firstRenderMs"].append(first.get("renderMs") or 0)
        timing = browser.script("const t = performance.getEntriesByType('navigation')[0];"
                                "return [t.responseEnd, t.domContentLoadedEventEnd, "
                                "t.loadEventEnd];")
        figures["responseEnd"].append(timing[0])
        figures["domContentLoaded"].append(timing[1])
        figures["loadEventEnd"].append(timing[2])
    return figures


def measure_polls(browser, polls):
    """The fleet view's next `polls` updates; returns {fetchMs, renderMs, totalMs: [ms]}."""
    # The page keeps its last 100 updates: mark the ones there now, then wait for new ones.
    browser.script("for (const u of window.fleettuneStats.updates) u.benchSeen = true;")

    def new_updates():
        return browser.script("return window.fleettuneStats.updates"
                              ".filter(u => !u.benchSeen && u.view === 'fleet')")
    deadline_s = polls * POLL_S * 2 + 30
    wait_until(lambda: len(new_updates()) >= polls, deadline_s, 0.5)
    updates = new_updates()[:polls]
    check(len(updates) == polls,
          f"{len(updates)} fleet updates in {deadline_s} s, expected {polls} (one per {POLL_S} s)")
    figures = {"fetchMs": [], "renderMs": [], "totalMs": []}
    for update in updates:
        for measure in figures:
            value = update.get(measure)
            check(isinstance(value, (int, float)) and value >= 0,
                  f"fleettuneStats.updates {measure} is {value!r}")
            figures[measure].append(value if isinstance(value, (int, float)) else 0)
    return figures


# What /api/v1/boards is asked for with: no Accept-Encoding (urllib's default), gzip, and
# what Chromium sends (which includes br).
ENCODINGS = (("identity", None), ("gzip", "gzip"), ("Chromium's", "gzip, deflate, br, zstd"))


def measure_api(base, token, requests, boards):
    """`requests` GETs of /api/v1/boards per Accept-Encoding of ENCODINGS, round-robin;
    returns {encoding name: ([ms], [bytes as sent], Content-Encoding)}."""
    figures = {name: ([], [], set()) for name, _ in ENCODINGS}
    for _ in range(requests):
        for name, accept in ENCODINGS:
            start = time.perf_counter()
            reply = http(base + "api/v1/boards", token=token,
                         headers={"Accept-Encoding": accept} if accept else None)
            times, sizes, encodings = figures[name]
            times.append((time.perf_counter() - start) * 1e3)
            sizes.append(len(reply.body))
            encodings.add(reply.headers.get("Content-Encoding") or "none")
            check(reply.status == 200, f"GET /api/v1/boards ({name}): {reply.status}")
            if reply.status == 200 and accept is None:
                listed = [b for b in reply.json()["boards"] if b["info"]["key"] == KEY]
                check(len(listed) == boards,
                      f"/api/v1/boards lists {len(listed)} of {boards} boards")
    return figures


def api_rows(figures, boards):
    rows = []
    for name, (times, sizes, encodings) in figures.items():
        sent = "/".join(sorted(encodings))
        rows.append((f"GET /api/v1/boards, {boards} boards, Accept-Encoding {name} (ms)", times))
        rows.append((f"  response size, Content-Encoding {sent} (KiB)",
                     [size / 1024 for size in sizes]))
    return rows


def print_table(rows):
    header = ("measure", "median", "p90", "n")
    cells = [header] + [(name, f"{statistics.median(v):.1f}", f"{percentile(v, 0.9):.1f}",
                         str(len(v))) for name, v in rows if v]
    widths = [max(len(row[i]) for row in cells) for i in range(4)]
    for row in cells:
        print("  ".join(cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i])
                        for i, cell in enumerate(row)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("fleettune")
    parser.add_argument("simulated_fleet")
    parser.add_argument("workdir")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--boards", type=int)
    parser.add_argument("--polls", type=int)
    args = parser.parse_args()
    boards = args.boards or (50 if args.quick else 1000)
    polls = min(99, args.polls or (3 if args.quick else 30))  # the page keeps 100 updates
    loads, requests = (2, 3) if args.quick else (5, 20)

    missing = missing_browser()
    if missing:
        check(False, f"no headless browser for the web page benchmark: {missing}")
        return finish()
    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir)
    processes = Processes(args.workdir)
    browser = None
    try:
        client_file = os.path.join(args.workdir, "client.token")
        board_file = os.path.join(args.workdir, "board.token")
        token = write_token(client_file)
        write_token(board_file)
        grpc, base = start_tracker(processes, args.fleettune, "tracker", client_file, board_file,
                                   ["--log-level", "warn"])
        start = time.time()
        processes.start("simulated_fleet", [args.simulated_fleet, "--tracker", grpc, "--key", KEY,
                                            "--boards", str(boards), "--simulate-ms",
                                            str(SIMULATE_MS), "--token-file", board_file])

        def registered():
            if processes.running["simulated_fleet"].poll() is not None:
                raise Fatal("simulated_fleet exited: " + processes.stderr_tail("simulated_fleet"))
            listed = api(base, "api/v1/boards", token)["boards"]
            return {b["boardId"] for b in listed if b["info"]["key"] == KEY}
        ids = wait_until(lambda: len(registered()) >= boards and registered(), 180, 0.5)
        if len(ids or ()) != boards:
            raise Fatal(f"{len(ids or ())} of {boards} simulated boards registered in 180 s")
        registered_s = time.time() - start
        job = start_job(processes, args.fleettune, grpc, client_file, args.workdir, base, token)

        browser = Browser(args.workdir)
        browser.get(base)
        browser.sign_in(token)
        if not browser.wait_view("fleet", 120):
            raise Fatal("after signing in: no fleet view with data in 120 s")
        trials_before = job_trials(base, token, job)
        loads_ms = measure_loads(browser, base, loads, boards, ids)
        polls_ms = measure_polls(browser, polls)
        api_figures = measure_api(base, token, requests, boards)
        trials_after = job_trials(base, token, job)
        tuning = processes.running["tune"].poll() is None
        check(tuning and trials_after > trials_before,
              f"the tune job did not run throughout: {trials_before} trials before the "
              f"measurements, {trials_after} after, its process "
              f"{'alive' if tuning else 'exited'}")
        version = browser.driver.capabilities.get("browserVersion", "?")

        print(f"\nweb page with {boards} simulated boards ({SIMULATE_MS} ms tasks, registered in "
              f"{registered_s:.1f} s) and the tune job {job} on them ({trials_before} to "
              f"{trials_after} trials during the measurements); headless Chromium {version}, "
              f"{os.cpu_count()} cores: tracker, boards, tuner and browser on this machine\n")
        print_table([(f"fleet page load, {boards} rows: fleettuneStats.loadMs (ms)",
                      loads_ms["loadMs"]),
                     ("  navigation responseEnd (ms)", loads_ms["responseEnd"]),
                     ("  navigation DOMContentLoaded end (ms)", loads_ms["domContentLoaded"]),
                     ("  navigation loadEventEnd (ms)", loads_ms["loadEventEnd"]),
                     ("  its first update's fetchMs", loads_ms["firstFetchMs"]),
                     ("  its first update's renderMs (all rows drawn)", loads_ms["firstRenderMs"]),
                     ("fleet poll update: fetchMs", polls_ms["fetchMs"]),
                     ("  renderMs", polls_ms["renderMs"]),
                     ("  totalMs", polls_ms["totalMs"]),
                     *api_rows(api_figures, boards)])
    except Fatal as error:
        check(False, str(error))
    except Exception as error:  # noqa: BLE001  (WebDriver, HTTP, ...: report it, clean up)
        traceback.print_exc()
        check(False, f"the benchmark stopped on {type(error).__name__}: {str(error)[:500]}")
    finally:
        if browser is not None:
            browser.quit()
        processes.stop_all()
    return finish()


if __name__ == "__main__":
    sys.exit(main())
