#!/usr/bin/python3
"""Whole-model tuning (issue #21): `fleettune tune --model` with the gradient and the round-robin
task scheduler on the embedded fleet at one thread, one job of the largest budget per model and
scheduler, the two jobs at the same time on a core each (jobs run one after the other would
compare the machine's drift as much as the schedulers). The smaller budgets are that job's first
trials (a job's first B trials are what a B-trial job runs, scheduler and searches being
deterministic given the results).

For each budget it prints the estimated network latency (`history --model`) and the measured one
(`run --model` on a database holding only the first B trials), next to the all-defaults build
measured in the same run; the trials each scheduler needs to come within 5% of the better
largest-budget estimate; and the tuner's own time (model + search + scheduler) as a share of
wall. A round-robin job's wall time per trial is compared with single-op jobs of the same tasks
and trials (`--single-op-trials` each; the model job then has budget tasks x that).

Usage: model_tuning_bench.py FLEETTUNE WRITE_MODEL WORKDIR [--models resnet50,mobilenet_v2]
           [--budgets 200,500,1000,2000] [--single-op-trials 16] [--quick]
Each network is measured --rounds times (default 3), interleaved, and the median quoted. Jobs
whose database already holds their budget are not run again (delete WORKDIR to start over).
--quick: MobileNet-V2 only, budgets 300,400 (its warm-up, a round of each of its 31 tasks,
takes 248), single-op comparison 8 trials.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

TARGET = "host -threads=1"
SCHEDULERS = ("gradient", "round-robin")


def fleettune(binary, *args, capture=True):
    result = subprocess.run([binary, *args], capture_output=capture, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"fleettune {' '.join(args)}: exit {result.returncode}\n"
                           f"{(result.stderr or '')[-3000:]}")
    return result.stdout


def records(binary, db):
    lines = fleettune(binary, "db", "export", "--db", db).splitlines()
    return [json.loads(line) for line in lines[1:]]


def tune_command(binary, model, db, trials, scheduler, extra=()):
    return [binary, "tune", "--model", model, "--target", TARGET, "--trials", str(trials),
            "--scheduler", scheduler, "--db", db, "--quiet", "--log-level", "warn", *extra]


def finished(binary, db, trials):
    return os.path.exists(db) and os.path.exists(db + ".log") and len(records(binary, db)) >= trials


def tune(binary, model, db, trials, scheduler, extra=()):
    """Runs (or finds) the model job; returns its summary."""
    return tune_together(binary, model, [(db, scheduler)], trials, extra)[db]


def tune_together(binary, model, jobs, trials, extra=()):
    """Runs the model jobs [(db, scheduler)] at the same time, each pinned to a core of its own
    where there are enough, so that the machine's drift (4-20% between runs made minutes apart
    on this VM) falls on all of them alike; returns each database's job summary. Jobs whose
    database already holds the budget are not run again."""
    running = {}
    cores = sorted(os.sched_getaffinity(0))
    for index, (db, scheduler) in enumerate(jobs):
        if finished(binary, db, trials):
            continue
        if os.path.exists(db):
            os.remove(db)
        command = tune_command(binary, model, db, trials, scheduler, extra)
        if len(jobs) > 1 and len(cores) >= len(jobs):
            # A core each: a job on the embedded fleet builds and measures in turn, so its own
            # builds never run beside its measurements. The other job's builds still share the
            # caches: measurements are noisier side by side, but neither job is favoured.
            command = ["taskset", "-c", str(cores[index]), *command]
        running[db] = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       text=True)
    outputs = {db: process.communicate() for db, process in running.items()}
    for db, (out, err) in outputs.items():
        if running[db].returncode != 0:
            raise RuntimeError(f"tune --model {model} ({db}): exit {running[db].returncode}\n"
                               f"{err[-3000:]}")
        with open(db + ".log", "w") as f:
            f.write(out)
    return {db: open(db + ".log").read() for db, _ in jobs}


def summary_seconds(out):
    """(wall, model + search + scheduler) seconds from a job summary."""
    wall = float(re.search(r"wall ([\d.]+) s", out).group(1))
    tuner = sum(float(re.search(rf"{name} ([\d.]+) s", out).group(1))
                for name in ("model", "search", "scheduler") if re.search(rf"{name} ([\d.]+) s", out))
    return wall, tuner


def estimates(binary, model, db):
    rows = json.loads(fleettune(binary, "history", "--model", model, "--db", db, "--json"))
    return [(row["trial"], row["estimated_ms"]) for row in rows]


def estimate_at(history, budget):
    value = None
    for trial, estimated in history:
        if trial < budget and estimated is not None:
            value = estimated
    return value


def first_within(history, reference, tolerance=0.05):
    for trial, estimated in history:
        if estimated is not None and estimated <= reference * (1 + tolerance):
            return trial + 1
    return None


def prefix_db(binary, db, budget, out_db):
    """A database holding the job's first `budget` trials."""
    if os.path.exists(out_db):
        os.remove(out_db)
    lines = fleettune(binary, "db", "export", "--db", db).splitlines()
    kept = [lines[0]] + [line for line in lines[1:] if json.loads(line)["trial"] < budget]
    subprocess.run([binary, "db", "import", "--db", out_db, "-"], input="\n".join(kept) + "\n",
                   text=True, check=True, capture_output=True)


def measured_ms(binary, model, db):
    report = json.loads(fleettune(binary, "run", "--model", model, "--target", TARGET, "--db", db,
                                  "--json", "--no-profile"))
    return report["end_to_end_ms"]


def single_op_wall(binary, model, db, trials):
    tasks = json.loads(fleettune(binary, "tasks", "--model", model, "--target", TARGET, "--json"))
    if os.path.exists(db):
        os.remove(db)
    start = time.monotonic()
    for task in tasks:
        fleettune(binary, "tune", "--workload", task["workload"], "--target", TARGET, "--trials",
                  str(trials), "--db", db, "--quiet", "--log-level", "warn", "--no-transfer")
    return time.monotonic() - start, len(tasks)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("fleettune")
    parser.add_argument("write_model")
    parser.add_argument("workdir")
    parser.add_argument("--models", default="resnet50,mobilenet_v2")
    parser.add_argument("--budgets", default="200,500,1000,2000")
    parser.add_argument("--single-op-trials", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved measurements of each network (median)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.models, args.budgets, args.single_op_trials = "mobilenet_v2", "300,400", 8
    budgets = [int(b) for b in args.budgets.split(",")]
    os.makedirs(args.workdir, exist_ok=True)
    binary = args.fleettune

    for name in args.models.split(","):
        model = os.path.join(args.workdir, f"{name}.onnx")
        if not os.path.exists(model):
            subprocess.run([sys.executable, args.write_model, name, model], check=True,
                           capture_output=True)
        empty = os.path.join(args.workdir, f"{name}-empty.db")
        if os.path.exists(empty):
            os.remove(empty)
        subprocess.run([binary, "db", "import", "--db", empty, "-"], check=True, capture_output=True,
                       input='{"format":"fleettune-records","schema_version":3,"version":1}\n',
                       text=True)
        print(f"== {name}, {TARGET}, budgets {budgets}")
        histories, tuner_share, walls = {}, {}, {}
        jobs = [(os.path.join(args.workdir, f"{name}-{s}.db"), s) for s in SCHEDULERS]
        summaries = tune_together(binary, model, jobs, budgets[-1])
        for db, scheduler in jobs:
            wall, tuner = summary_seconds(summaries[db])
            walls[scheduler] = wall
            tuner_share[scheduler] = tuner / wall
            histories[scheduler] = estimates(binary, model, db)
        finals = [estimate_at(histories[s], budgets[-1]) for s in SCHEDULERS]
        if None in finals:
            # A budget below the warm-up (a round of every task) leaves a task without a result.
            raise SystemExit(f"{name}: {budgets[-1]} trials leave a task without a result; give "
                             "--budgets whose largest covers a round of every task")
        reference = min(finals)
        # Measured latencies: every database (all defaults, each scheduler's first B trials)
        # measured once per round, the rounds interleaved and their order rotated so that the
        # machine's drift (20-40% on a shared VM) falls on all of them alike; the median of the
        # rounds (in measurement order in the printed runs).
        databases = {("defaults", 0): empty}
        for scheduler in SCHEDULERS:
            db = os.path.join(args.workdir, f"{name}-{scheduler}.db")
            for budget in budgets:
                prefix = os.path.join(args.workdir, f"{name}-{scheduler}-{budget}.db")
                prefix_db(binary, db, budget, prefix)
                databases[(scheduler, budget)] = prefix
        times = {key: [] for key in databases}
        keys = list(databases)
        for round_index in range(args.rounds):
            # Each round starts one database later, so that no database always runs first.
            shift = round_index % len(keys)
            for key in keys[shift:] + keys[:shift]:
                times[key].append(measured_ms(binary, model, databases[key]))
        measured = {key: statistics.median(values) for key, values in times.items()}
        default_ms = measured[("defaults", 0)]
        print(f"all-defaults build, measured: {default_ms:.2f} ms "
              f"(median of {args.rounds} interleaved runs: "
              + ", ".join(f"{t:.1f}" for t in times[("defaults", 0)]) + ")")
        print(f"{'scheduler':<12} {'budget':>6} {'estimated ms':>13} {'measured ms':>12} "
              f"{'vs defaults':>11}  runs")
        for scheduler in SCHEDULERS:
            for budget in budgets:
                estimated = estimate_at(histories[scheduler], budget)
                value = measured[(scheduler, budget)]
                print(f"{scheduler:<12} {budget:>6} {estimated or float('nan'):>13.2f} "
                      f"{value:>12.2f} {default_ms / value:>10.2f}x  "
                      + ", ".join(f"{t:.1f}" for t in times[(scheduler, budget)]))
        needed = {s: first_within(histories[s], reference) for s in SCHEDULERS}
        print(f"trials to within 5% of the best {budgets[-1]}-trial estimate ({reference:.2f} ms): "
              + ", ".join(f"{s} {needed[s]}" for s in SCHEDULERS))
        if needed["gradient"] and needed["round-robin"]:
            print(f"gradient needs {needed['gradient'] / needed['round-robin']:.2f}x the trials "
                  "round-robin needs (goal <= 0.5)")
        for scheduler in SCHEDULERS:
            print(f"{scheduler}: wall {walls[scheduler]:.0f} s, "
                  f"{walls[scheduler] / budgets[-1]:.3f} s per trial, tuner's own time "
                  f"{100 * tuner_share[scheduler]:.1f}% of wall")

        # The scheduler's cost: a round-robin model job against single-op jobs of its tasks.
        single_db = os.path.join(args.workdir, f"{name}-single.db")
        single_log = single_db + ".json"
        if os.path.exists(single_log):
            single_wall, tasks = json.load(open(single_log))
        else:
            single_wall, tasks = single_op_wall(binary, model, single_db, args.single_op_trials)
            json.dump([single_wall, tasks], open(single_log, "w"))
        rr_db = os.path.join(args.workdir, f"{name}-rr-equal.db")
        total = tasks * args.single_op_trials
        out = tune(binary, model, rr_db, total, "round-robin",
                   ("--no-transfer", "--batch-size", str(min(8, args.single_op_trials))))
        rr_wall, _ = summary_seconds(out)
        print(f"{tasks} single-op jobs of {args.single_op_trials} trials: "
              f"{single_wall / total:.3f} s per trial; round-robin model job of {total} trials: "
              f"{rr_wall / total:.3f} s per trial ({rr_wall / single_wall:.2f}x)")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
