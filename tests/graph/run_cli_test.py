#!/usr/bin/python3
"""`fleettune run --model` end to end: a small generated model on the embedded fleet and on a
started tracker and board (real processes on 127.0.0.1), the profile's rows against the graph
that `tasks --dump-graph` prints, the artifact limit of the tracker, the board and the command
(each refusing a 2 MiB network by name, and measuring it once raised), a wrong token, a key
with no board and an unreachable tracker.

Usage: run_cli_test.py FLEETTUNE RPC_SERVER WRITE_MODEL WORKDIR
"""
import json
import os
import re
import subprocess
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from checks import check, finish

ENV = dict(os.environ, FLEETTUNE_CLIENT_TOKEN="client-secret", FLEETTUNE_BOARD_TOKEN="board-secret")
TARGET = "host -threads=1"


def write_fc_model(path):
    """input [1,512] -> Gemm with a 512x1024 weight (2 MiB) and a bias -> Relu -> [1,1024]."""
    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.normal(0, 0.05, (512, 1024)).astype(np.float32), "w")
    bias = numpy_helper.from_array(rng.normal(0, 0.05, (1024,)).astype(np.float32), "b")
    nodes = [helper.make_node("Gemm", ["input", "w", "b"], ["fc"], name="fc"),
             helper.make_node("Relu", ["fc"], ["output"], name="relu")]
    graph = helper.make_graph(
        nodes, "fc", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 512])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1024])], [weight, bias])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    onnx.save(model, path)


def run(fleettune, *args, env=ENV):
    return subprocess.run([fleettune, "run", *args], capture_output=True, text=True, env=env,
                          timeout=600)


def final_ops(fleettune, model):
    """The op names of the graph after the passes, from `tasks --dump-graph`'s last dump."""
    dumped = subprocess.run([fleettune, "tasks", "--model", model, "--dump-graph"],
                            capture_output=True, text=True, check=True).stderr
    last = dumped.split("# after ")[-1]
    return re.findall(r"^([^\s:]+): [A-Za-z]+\(", last, re.M), last


def check_report(fleettune, model, result, label):
    check(result.returncode == 0, f"{label}: exit {result.returncode}: {result.stderr[-2000:]}")
    if result.returncode != 0:
        return
    report = json.loads(result.stdout)
    check(report["status"] == "OK", f"{label}: status {report['status']}")
    check(report["end_to_end_ms"] > 0, f"{label}: end_to_end_ms {report['end_to_end_ms']}")
    layers = report["layers"]
    ops, dump = final_ops(fleettune, model)
    check(len(ops) > 0, f"{label}: no ops parsed from the dump:\n{dump}")
    check(sorted(l["layer"] for l in layers) == list(range(len(layers))),
          f"{label}: layer indices {[l['layer'] for l in layers]}")
    check(sorted(l["name"] for l in layers) == sorted(ops),
          f"{label}: profile rows {[l['name'] for l in layers]} vs the graph's ops {ops}")
    check(all(l["status"] == "OK" and l["ms"] > 0 and l["share"] > 0 for l in layers),
          f"{label}: a layer without a time: {layers}")
    check(abs(sum(l["share"] for l in layers) - 1) < 1e-6, f"{label}: shares sum to "
          f"{sum(l['share'] for l in layers)}")
    check(abs(sum(l["ms"] for l in layers) - report["layers_sum_ms"]) < 1e-9,
          f"{label}: layers_sum_ms {report['layers_sum_ms']}")
    check([l["ms"] for l in layers] == sorted((l["ms"] for l in layers), reverse=True),
          f"{label}: rows not sorted by time")
    check(abs(report["overhead_ms"] - (report["end_to_end_ms"] - report["layers_sum_ms"])) < 1e-9,
          f"{label}: overhead_ms {report['overhead_ms']}")


class Fleet:
    """A `fleettune tracker` process and board runtimes, stopped on exit."""

    def __init__(self, fleettune, rpc_server, *tracker_args):
        self.fleettune, self.rpc_server, self.processes = fleettune, rpc_server, []
        tracker = subprocess.Popen(
            [fleettune, "tracker", "--listen", "127.0.0.1:0", *tracker_args],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=ENV)
        self.processes.append(tracker)
        line = tracker.stdout.readline()
        found = re.search(r"listening on (\S+)", line)
        assert found, f"tracker said: {line!r}"
        self.address = found.group(1)

    def board(self, key, *args):
        self.processes.append(subprocess.Popen(
            [self.rpc_server, "--tracker", self.address, "--key", key, *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV))
        for _ in range(100):
            status = subprocess.run([self.fleettune, "status", "--tracker", self.address, "--json"],
                                    capture_output=True, text=True, env=ENV)
            if status.returncode == 0 and any(
                    b["info"]["key"] == key for b in json.loads(status.stdout).get("boards", [])):
                return
            time.sleep(0.2)
        raise RuntimeError(f"board of key {key} did not register")

    def stop(self):
        for process in reversed(self.processes):
            process.terminate()
            process.wait(timeout=30)


def check_refused(result, label, *expected):
    check(result.returncode != 0, f"{label}: exit 0")
    text = result.stderr + result.stdout
    for part in expected:
        check(part in text, f"{label}: {part!r} not in:\n{text[-2000:]}")


def main():
    fleettune, rpc_server, write_model, workdir = sys.argv[1:5]
    os.makedirs(workdir, exist_ok=True)
    small = os.path.join(workdir, "small.onnx")
    subprocess.run([sys.executable, write_model, "small", small], check=True)
    fc = os.path.join(workdir, "fc.onnx")
    write_fc_model(fc)
    db = os.path.join(workdir, "absent.db")  # no records: every layer at its default

    embedded = run(fleettune, "--model", small, "--target", TARGET, "--db", db, "--json")
    check_report(fleettune, small, embedded, "embedded fleet")
    text = run(fleettune, "--model", small, "--target", TARGET, "--db", db)
    check(text.returncode == 0 and "end to end:" in text.stdout and "layers, sum" in text.stdout,
          f"text report: {text.stdout}{text.stderr[-1000:]}")
    alone = run(fleettune, "--model", small, "--target", TARGET, "--db", db, "--json",
                "--no-profile")
    check(alone.returncode == 0 and json.loads(alone.stdout)["layers"] == [],
          f"--no-profile: {alone.stdout}{alone.stderr[-1000:]}")
    bad = run(fleettune, "--model", small, "--max-artifact-mb", "0")
    check_refused(bad, "--max-artifact-mb 0", "--max-artifact-mb must be a number of MiB")
    check(bad.returncode == 2, f"--max-artifact-mb 0: exit {bad.returncode}")

    # Tracker A refuses artifacts over 1 MiB; its board takes anything.
    a = Fleet(fleettune, rpc_server, "--max-artifact-mb", "1", "--no-board-timeout", "2")
    # Tracker B takes the default 512 MiB; board "tight" only 1 MiB, board "roomy" the default.
    b = Fleet(fleettune, rpc_server)
    try:
        a.board("k")
        b.board("tight", "--max-artifact-mb", "1")
        b.board("roomy")
        on_a = ["--target", TARGET, "--db", db, "--tracker", a.address, "--key", "k"]
        check_report(fleettune, small, run(fleettune, "--model", small, "--json", *on_a),
                     "started tracker and board")
        refused = run(fleettune, "--model", fc, *on_a)
        check_refused(refused, "tracker limit", "over the artifact limit of the tracker, 1048576 "
                      "bytes (1.0 MiB)", "`fleettune tracker --max-artifact-mb`")
        check(refused.returncode == 2, f"tracker limit: exit {refused.returncode}")
        board_refused = run(fleettune, "--model", fc, "--target", TARGET, "--db", db, "--tracker",
                            b.address, "--key", "tight")
        check_refused(board_refused, "board limit", "REJECTED", "over the artifact limit of board",
                      "1048576 bytes (1.0 MiB)", "`fleettune-rpc-server --max-artifact-mb`")
        check(board_refused.returncode == 1, f"board limit: exit {board_refused.returncode}")
        on_roomy = ["--target", TARGET, "--db", db, "--tracker", b.address, "--key", "roomy"]
        client_refused = run(fleettune, "--model", fc, "--max-artifact-mb", "1", *on_roomy)
        check_refused(client_refused, "client limit", "over the artifact limit of this command, "
                      "1048576 bytes (1.0 MiB); raise it with --max-artifact-mb")
        check(client_refused.returncode == 2, f"client limit: exit {client_refused.returncode}")
        check_report(fleettune, fc, run(fleettune, "--model", fc, "--json", *on_roomy),
                     "limits raised")

        wrong_token = run(fleettune, "--model", small, *on_a,
                          env=dict(ENV, FLEETTUNE_CLIENT_TOKEN="wrong"))
        check_refused(wrong_token, "wrong token", "token")
        check(wrong_token.returncode == 2, f"wrong token: exit {wrong_token.returncode}")
        no_board = run(fleettune, "--model", small, "--target", TARGET, "--db", db, "--tracker",
                       a.address, "--key", "nobody")
        check_refused(no_board, "key without boards", "REJECTED", "nobody")
        check(no_board.returncode == 1, f"key without boards: exit {no_board.returncode}")
    finally:
        a.stop()
        b.stop()
    unreachable = run(fleettune, "--model", small, "--db", db, "--tracker", "127.0.0.1:1")
    check_refused(unreachable, "unreachable tracker", "cannot reach tracker at 127.0.0.1:1")
    check(unreachable.returncode == 1, f"unreachable tracker: exit {unreachable.returncode}")

    return finish()


if __name__ == "__main__":
    sys.exit(main())
