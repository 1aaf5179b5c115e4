#!/usr/bin/python3
"""`fleettune tune --model` end to end on the embedded loopback fleet with two boards (real
tracker and board processes): a small generated model (four tasks) tuned, the job killed with
SIGKILL mid-way and resumed, then the database checked: the budget spent exactly, trial numbers
distinct, no config of any workload measured twice, every task measured on both boards' fleet;
`history --model --json` replays the estimated latency, which must end at the sum over the tasks
of count x best recorded time; bad input is refused by name.

Usage: tune_model_cli_test.py FLEETTUNE WRITE_MODEL WORKDIR
"""
import json
import os
import signal
import subprocess
import sys
import time

from checks import check, finish

TRIALS = 40
COMMON = ["--target", "host -threads=1", "--batch-size", "4", "--boards", "2", "--repeat", "3",
          "--min-repeat-ms", "5"]


def export(fleettune, db):
    out = subprocess.run([fleettune, "db", "export", "--db", db], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    return [json.loads(line) for line in out[1:]]


def tasks_of(fleettune, model):
    out = subprocess.run([fleettune, "tasks", "--model", model, "--json"], capture_output=True,
                         text=True, check=True).stdout
    return {task["workload"]: task["count"] for task in json.loads(out)}


def kill_mid_job(fleettune, model, db):
    """Starts a model job and SIGKILLs it once some rounds are recorded; returns their count."""
    job = subprocess.Popen([fleettune, "tune", "--model", model, "--trials", str(TRIALS), "--db",
                            db, *COMMON], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    recorded = 0
    while time.time() < deadline and job.poll() is None:
        time.sleep(0.5)
        if os.path.exists(db):
            try:
                recorded = len(export(fleettune, db))
            except subprocess.CalledProcessError:
                continue  # not a database yet
        if recorded >= 12:
            break
    check(job.poll() is None, f"the job ended before it could be killed ({recorded} records)")
    job.send_signal(signal.SIGKILL)
    job.wait()
    return len(export(fleettune, db))


def main():
    fleettune, write_model, workdir = sys.argv[1:4]
    os.makedirs(workdir, exist_ok=True)
    model = os.path.join(workdir, "conv_chain.onnx")
    subprocess.run([sys.executable, write_model, "conv_chain", model], check=True)
    db = os.path.join(workdir, "model.db")
    if os.path.exists(db):
        os.remove(db)
    counts = tasks_of(fleettune, model)
    check(len(counts) == 4, f"conv_chain has {len(counts)} tasks, expected 4")

    before = kill_mid_job(fleettune, model, db)
    check(12 <= before < TRIALS, f"{before} records when the job was killed")
    resumed = subprocess.run([fleettune, "tune", "--model", model, "--trials", str(TRIALS),
                              "--db", db, "--resume", *COMMON], capture_output=True, text=True,
                             timeout=600)
    check(resumed.returncode == 0, f"resume: exit {resumed.returncode}: {resumed.stderr[-2000:]}")
    check(f"resumed: {before} trials were already recorded" in resumed.stdout,
          f"resume does not say it took over {before} trials: {resumed.stdout}")
    check("estimated network latency" in resumed.stdout, f"no estimate: {resumed.stdout}")

    records = export(fleettune, db)
    jobs = {record["job"] for record in records}
    check(len(jobs) == 1 and next(iter(jobs)).startswith("conv_chain@"),
          f"the resumed job has another name: {jobs}")
    check(len(records) == TRIALS, f"{len(records)} records, the budget is {TRIALS}")
    trials = sorted(record["trial"] for record in records)
    check(len(set(trials)) == len(trials), f"trial numbers repeat: {trials}")
    configs = [(record["workload"], record["config_hash"]) for record in records]
    check(len(set(configs)) == len(configs), "a config was measured twice")
    check({record["workload"] for record in records} == set(counts),
          "not every task was measured")
    check(len({record["board_id"] for record in records}) == 2,
          f"boards used: {sorted({record['board_id'] for record in records})}")

    best = {}
    for record in records:
        if record["status"] == "OK":
            workload = record["workload"]
            best[workload] = min(best.get(workload, float("inf")), record["mean_cost"])
    expected_ms = sum(counts[w] * best[w] for w in counts) * 1e3

    history = subprocess.run([fleettune, "history", "--model", model, "--db", db, "--json"],
                             capture_output=True, text=True)
    check(history.returncode == 0, f"history: exit {history.returncode}: {history.stderr}")
    rows = json.loads(history.stdout)
    check(len(rows) == TRIALS, f"history lists {len(rows)} trials")
    for field in ("trial", "task", "workload", "gflops", "status", "estimated_ms"):
        check(all(field in row for row in rows), f"history rows lack '{field}'")
    check([row["trial"] for row in rows] == trials, "history is not in trial order")
    estimates = [row["estimated_ms"] for row in rows if row["estimated_ms"] is not None]
    check(all(later <= earlier * (1 + 1e-12) for earlier, later in zip(estimates, estimates[1:])),
          "the estimated latency rose")
    check(estimates and abs(estimates[-1] - expected_ms) <= 1e-9 * expected_ms,
          f"history ends at {estimates[-1:]} ms, the records say {expected_ms} ms")

    # A model whose tasks all have records starts from them: nothing is measured twice.
    again = subprocess.run([fleettune, "tune", "--model", model, "--trials", "8", "--db", db,
                            *COMMON], capture_output=True, text=True, timeout=600)
    check(again.returncode == 0, f"second job: exit {again.returncode}: {again.stderr[-2000:]}")
    records = export(fleettune, db)
    configs = [(record["workload"], record["config_hash"]) for record in records]
    check(len(records) == TRIALS + 8, f"{len(records)} records after a second 8-trial job")
    check(len(set(configs)) == len(configs), "the second job measured a recorded config again")

    for args, needle in ((["--scheduler", "fastest"], "unknown policy 'fastest'"),
                         (["--trials", "0"], "--trials must be positive"),
                         (["--save-model", "x.json"], "--save-model")):
        bad = subprocess.run([fleettune, "tune", "--model", model, "--db", db, *args],
                             capture_output=True, text=True, timeout=60)
        check(bad.returncode == 2 and needle in bad.stderr,
              f"{args}: exit {bad.returncode}, stderr {bad.stderr!r}")
    missing = subprocess.run([fleettune, "tune", "--model", os.path.join(workdir, "none.onnx"),
                              "--db", db], capture_output=True, text=True, timeout=60)
    check(missing.returncode == 2 and "none.onnx" in missing.stderr,
          f"a missing model: exit {missing.returncode}, {missing.stderr!r}")
    other = subprocess.run([fleettune, "history", "--model", model, "--db", db, "--job", "nope"],
                           capture_output=True, text=True, timeout=60)
    check(other.returncode != 0 and "nope" in other.stderr,
          f"history of an unknown job: exit {other.returncode}, {other.stderr!r}")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
