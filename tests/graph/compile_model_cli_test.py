#!/usr/bin/python3
"""`fleettune compile --model`: a generated model built into OUT.so and OUT.h with the per-layer
lines and the summary, and bad command lines (exit 2, nothing written; bad models are
compile_model_errors_test.py's).

Usage: compile_model_cli_test.py FLEETTUNE WRITE_MODEL WORKDIR
"""
import os
import re
import subprocess
import sys

from checks import check, finish


def run(fleettune, *args):
    result = subprocess.run([fleettune, "compile", *args], capture_output=True, text=True)
    return result.returncode, result.stdout, result.stderr


def main():
    fleettune, write_model, workdir = sys.argv[1:4]
    os.makedirs(workdir, exist_ok=True)
    models = {"conv_chain": os.path.join(workdir, "conv_chain.onnx")}
    subprocess.run([sys.executable, write_model, "conv_chain", models["conv_chain"]], check=True)
    db = os.path.join(workdir, "no_such.db")

    out = os.path.join(workdir, "chain")
    for ext in (".so", ".h"):
        if os.path.exists(out + ext):
            os.remove(out + ext)
    code, stdout, stderr = run(fleettune, "--model", models["conv_chain"], "--db", db, "-o", out)
    check(code == 0, f"conv_chain: exit {code}: {stderr}")
    layers = re.findall(r"^layer +(\d+) ", stdout, re.M)
    check(layers == [str(i) for i in range(5)], f"conv_chain: layer lines {layers}:\n{stdout}")
    check(stdout.count("[default]") == 4, f"conv_chain: 4 tuned layers at the default:\n{stdout}")
    check(re.search(r"^layer +3 +flatten\d+ +copy$", stdout, re.M) is not None,
          f"conv_chain: the Flatten is a copy:\n{stdout}")
    summary = re.search(r"5 layers \(4 tuned, 1 simple or copy; configs: 0 exact, 0 other_device, "
                        r"0 nearest_workload, 4 default\), weights 0\.0 MB \(\d+ pre-packed\)", stdout)
    check(summary is not None, f"conv_chain: summary line:\n{stdout}")
    check(os.path.getsize(out + ".so") > 0, "conv_chain: OUT.so written")
    with open(out + ".h") as header:
        text = header.read()
    check("int32_t conv_chain(void* const* args);" in text, f"header declares the entry:\n{text}")
    check("args[0] = input float[1][3][8][8] (input)" in text, f"header documents args:\n{text}")

    # Bad models (truncated, not ONNX, unsupported op, ...) are compile_model_errors_test.py's;
    # here, bad command lines.
    bad = os.path.join(workdir, "bad")
    cases = [
        ("missing -o", ["--model", models["conv_chain"]]),
        ("-o in a missing directory", ["--model", models["conv_chain"], "-o", workdir + "/no/x"]),
        ("--model and --workload", ["--model", models["conv_chain"], "-w",
                                    "matmul:m=8,n=8,k=8", "-o", bad]),
        ("neither --model nor --workload", ["-o", bad]),
        ("bad --input-shape", ["--model", models["conv_chain"], "--input-shape", "input=1,x",
                               "-o", bad]),
    ]
    for what, args in cases:
        code, stdout, stderr = run(fleettune, *args, "--db", db)
        check(code == 2, f"{what}: exit {code}, want 2: {stderr}")
        check(stderr.strip() != "", f"{what}: says why")
        check(not os.path.exists(bad + ".so") and not os.path.exists(bad + ".h"),
              f"{what}: nothing written")

    return finish()


if __name__ == "__main__":
    sys.exit(main())
