#!/usr/bin/python3
"""`fleettune compile --model` on bad models: a truncated file, a file that is not ONNX, an
unsupported op, a missing initializer and a shape mismatch (the bad models write_model.py
writes). Each must exit 2 with a message naming the bad part, print nothing on stdout, and
write nothing: no OUT.so, no OUT.h, no other file in the output directory. Then a good model
compiles into exactly OUT.so and OUT.h, so the checks above can fail.

Usage: compile_model_errors_test.py FLEETTUNE WRITE_MODEL WORKDIR
"""
import os
import shutil
import subprocess
import sys

from checks import check, finish


def compile_model(fleettune, model, out):
    db = os.path.join(os.path.dirname(os.path.dirname(out)), "absent.db")
    return subprocess.run([fleettune, "compile", "--model", model, "-o", out, "--db", db],
                          capture_output=True, text=True)


def main():
    fleettune, write_model, workdir = sys.argv[1:4]
    models = os.path.join(workdir, "models")
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(models)
    paths = {}
    for name in ["small", "unsupported", "missing_init", "shape_mismatch"]:
        paths[name] = os.path.join(models, name + ".onnx")
        subprocess.run([sys.executable, write_model, name, paths[name]], check=True)
    paths["truncated"] = os.path.join(models, "truncated.onnx")
    with open(paths["small"], "rb") as f, open(paths["truncated"], "wb") as out:
        out.write(f.read(200))
    paths["text"] = os.path.join(models, "text.onnx")
    with open(paths["text"], "w") as out:
        out.write("this is not an ONNX model\n")

    # (model, what the message must contain: the part it names)
    cases = [
        ("truncated", "not an ONNX model"),
        ("text", "not an ONNX model"),
        ("unsupported", "node 'lstm1' (LSTM): op type 'LSTM' is not supported"),
        ("missing_init", "node 'conv3' (Conv): input 'w1' is not an initializer"),
        ("shape_mismatch", "node 'conv3' (Conv): input 'input' of shape [1,3,8,8] does not match"),
    ]
    for name, message in cases:
        out_dir = os.path.join(workdir, "out_" + name)
        os.makedirs(out_dir)
        result = compile_model(fleettune, paths[name], os.path.join(out_dir, "net"))
        check(result.returncode == 2, f"{name}: exit {result.returncode}, not 2")
        check(result.stderr.startswith("fleettune compile: error: ") and message in result.stderr,
              f"{name}: stderr {result.stderr!r} lacks {message!r}")
        check(result.stdout == "", f"{name}: wrote to stdout: {result.stdout[:200]!r}")
        check(os.listdir(out_dir) == [], f"{name}: left {sorted(os.listdir(out_dir))} behind")
        print(f"{name}: exit {result.returncode}: {result.stderr.strip()[:160]}")

    out_dir = os.path.join(workdir, "out_small")
    os.makedirs(out_dir)
    result = compile_model(fleettune, paths["small"], os.path.join(out_dir, "net"))
    check(result.returncode == 0, f"small: exit {result.returncode}: {result.stderr}")
    check(sorted(os.listdir(out_dir)) == ["net.h", "net.so"],
          f"small: wrote {sorted(os.listdir(out_dir))}, not net.h and net.so")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
