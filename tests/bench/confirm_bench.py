#!/usr/bin/python3
"""Results a user can trust (issue #22): does what `fleettune tune` claims hold when the same
kernels are measured again?

For each workload (the demo's two, as `make demo` runs them, and two more) it runs --jobs
independent tuning jobs on the embedded fleet, each into a fresh database, and after each job
`fleettune compile --compare-default`, which builds the database's best kernel and measures it
against the template default here (one sandboxed task, the two interleaved, 15 rounds). Per job:

  claimed    what the job found while exploring: its fastest record over the template default
             (trial 0 of a fresh database) as first measured, read from the database, which is
             what `tune` printed before the confirmation round existed ("before");
  confirmed  what `tune` prints now: the confirmation round's median speedup and its 10-90%
             range, or "no reliable gain" / "no gain" ("after");
  measured   what `compile --compare-default` measured afterwards, median and 10-90% range.

It reports, before and after: how often the re-measured speedup fell short of the one claimed,
and by how much; after: in how many jobs the confirmed and measured medians agree within 5%
(goal: at least 9 of 10), and whether any job printed a speedup below 1.0 as a gain (goal:
none). Medians are quoted; the machine is expected to be otherwise idle.

Usage: confirm_bench.py FLEETTUNE WORKDIR [--jobs 5] [--quick]
--quick: the demo's two workloads only, 2 jobs each.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

WORKLOADS = (  # (workload, trials): the demo's two first
    ("matmul:m=512,n=512,k=512", 64),
    ("depthwise_conv2d:n=1,c=32,h=112,w=112,r=3,s=3,stride=1,pad=1", 32),
    ("matmul:m=128,n=128,k=128", 48),
    ("conv2d:n=1,c=64,h=56,w=56,k=64,r=3,s=3,stride=1,pad=1", 32),
)
SPEEDUP = r"([0-9.]+)x \(10-90%: ([0-9.]+)-([0-9.]+)x\)"


def run(args):
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: exit {result.returncode}\n{result.stderr[-3000:]}")
    return result.stdout


def exploration_claim(fleettune, db):
    """The job's fastest OK record over the template default (its trial 0), as measured."""
    records = [json.loads(line) for line in run([fleettune, "db", "export", "--db", db])
               .splitlines()[1:]]
    ok = [r for r in records if r["status"] == "OK"]
    default = [r for r in ok if r["trial"] == 0]
    if not ok or not default:
        return None
    return max(r["gflops"] for r in ok) / default[0]["gflops"]


def parse_tune(out):
    """(confirmed, gain_claimed) from `tune`'s summary."""
    if m := re.search(r"tuned is " + SPEEDUP + " the default", out):
        return float(m.group(1)), True
    if m := re.search(r"no reliable gain: the best is " + SPEEDUP, out):
        return float(m.group(1)), False
    if "tuning found no gain" in out:
        return 1.0, False
    raise RuntimeError(f"tune printed no confirmed speedup:\n{out}")


def parse_compare(out):
    if "the compiled kernel is the template default" in out:
        return 1.0
    m = re.search(r"speedup " + SPEEDUP, out)
    if not m:
        raise RuntimeError(f"compile printed no speedup:\n{out}")
    return float(m.group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fleettune")
    parser.add_argument("workdir")
    parser.add_argument("--jobs", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    workloads = WORKLOADS[:2] if args.quick else WORKLOADS
    jobs = 2 if args.quick else args.jobs
    os.makedirs(args.workdir, exist_ok=True)
    rows = []
    start = time.time()
    for workload, trials in workloads:
        for job in range(jobs):
            db = os.path.join(args.workdir, f"job{len(rows)}.db")
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(db + suffix):
                    os.remove(db + suffix)
            out = run([args.fleettune, "tune", "--workload", workload, "--target", "host",
                       "--trials", str(trials), "--db", db, "--seed", str(job + 1), "--quiet"])
            confirmed, gain = parse_tune(out)
            claimed = exploration_claim(args.fleettune, db)
            measured = parse_compare(run([args.fleettune, "compile", "--workload", workload,
                                          "--target", "host", "--db", db, "--compare-default",
                                          "-o", os.path.join(args.workdir, "kernel")]))
            rows.append((workload, job, claimed, confirmed, gain, measured))
            print(f"{workload[:40]:40s} job {job}: claimed {claimed:.2f}x  confirmed "
                  f"{confirmed:.2f}x{'' if gain else ' (no gain said)'}  measured {measured:.2f}x"
                  f"  [{time.time() - start:.0f} s]", flush=True)

    def short(pairs):
        fell = [(c, m) for c, m in pairs if m < c]
        shortfall = [m / c for c, m in fell]
        return (f"{len(fell)} of {len(pairs)} jobs re-measured below the claim"
                + (f" (median {statistics.median(shortfall):.2f} of the claim)" if fell else ""))

    print()
    print("before (the job's exploration claim):",
          short([(r[2], r[5]) for r in rows if r[2] is not None]))
    print("after (the confirmed figure):       ", short([(r[3], r[5]) for r in rows]))
    agree = sum(1 for r in rows if abs(r[3] / r[5] - 1) <= 0.05)
    print(f"after: confirmed and measured agree within 5% in {agree} of {len(rows)} jobs "
          f"(goal: at least 9 of 10); median |confirmed/measured - 1| "
          f"{statistics.median(abs(r[3] / r[5] - 1) for r in rows):.3f}")
    below = [r for r in rows if r[4] and r[3] < 1.0]
    print(f"after: speedups below 1.0 printed as a gain: {len(below)} (goal: 0)")
    print(f"before: exploration claims below 1.0: "
          f"{sum(1 for r in rows if r[2] is not None and r[2] < 1.0)}")


if __name__ == "__main__":
    try:
        main()
    except RuntimeError as error:
        print(f"confirm_bench: {error}", file=sys.stderr)
        sys.exit(1)
