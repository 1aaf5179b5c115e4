#!/usr/bin/python3
"""`fleettune compile --model` against OpenCV DNN (Debian python3-opencv 4.6), an implementation
nobody here wrote: each model is written by scripts/models/write_model.py, compiled with
template-default configs, loaded with ctypes and run on a seeded random input; OpenCV runs the
same file on the same input (scripts/models/opencv_dnn.py). The relative error
max|ours - opencv| / max|opencv| over each output must be at most 1e-3.

Usage: opencv_compare_test.py FLEETTUNE WRITE_MODEL OPENCV_DNN WORKDIR MODEL...
Prints one line per model: the error, the compile time, and both run times.
"""
import ctypes
import os
import re
import subprocess
import sys
import time

import numpy as np
import onnx

TOLERANCE = 1e-3
ENTRY = re.compile(r"int32_t\s+(\w+)\s*\(\s*void\s*\*\s*const\s*\*\s*\w*\s*\)")


def value_shapes(values, skip=()):
    return [(v.name, [d.dim_value for d in v.type.tensor_type.shape.dim])
            for v in values if v.name not in skip]


def run_ours(out, inputs, output_shapes):
    """Calls the compiled entry on `inputs`; returns (outputs, seconds of the call)."""
    with open(out + ".h") as header:
        match = ENTRY.search(header.read())
    if match is None:
        raise RuntimeError(f"{out}.h declares no `int32_t NAME(void* const* args)` entry")
    # The network calls libgomp; it must be loaded (globally) before the network is.
    ctypes.CDLL("libgomp.so.1", mode=ctypes.RTLD_GLOBAL)
    entry = getattr(ctypes.CDLL(os.path.abspath(out + ".so")), match.group(1))
    entry.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
    entry.restype = ctypes.c_int32
    outputs = [np.full(shape, np.nan, dtype=np.float32) for _, shape in output_shapes]
    buffers = [np.ascontiguousarray(a, dtype=np.float32) for a in inputs] + outputs
    args = (ctypes.c_void_p * len(buffers))(*[b.ctypes.data for b in buffers])
    start = time.perf_counter()
    status = entry(args)
    seconds = time.perf_counter() - start
    if status != 0:
        raise RuntimeError(f"the network returned {status}")
    return outputs, seconds


def run_opencv(opencv_dnn, path, inputs, output_count, workdir):
    args = [sys.executable, opencv_dnn, "run", path]
    for i, array in enumerate(inputs):
        name = os.path.join(workdir, f"in{i}.bin")
        array.astype("<f4").tofile(name)
        args += ["--input", name]
    outs = [os.path.join(workdir, f"out{i}.bin") for i in range(output_count)]
    for name in outs:
        args += ["--output", name]
    start = time.perf_counter()
    subprocess.run(args, check=True)
    seconds = time.perf_counter() - start
    return [np.fromfile(name, dtype="<f4") for name in outs], seconds


def check_model(fleettune, write_model, opencv_dnn, workdir, name):
    path = os.path.join(workdir, name + ".onnx")
    out = os.path.join(workdir, name)
    subprocess.run([sys.executable, write_model, name, path], check=True)
    model = onnx.load(path)
    initializers = {t.name for t in model.graph.initializer}
    input_shapes = value_shapes(model.graph.input, initializers)
    output_shapes = value_shapes(model.graph.output)

    start = time.perf_counter()
    # A database that does not exist: every layer gets its template default.
    compiled = subprocess.run([fleettune, "compile", "--model", path, "-o", out, "--db",
                               os.path.join(workdir, "absent.db")],
                              capture_output=True, text=True)
    compile_seconds = time.perf_counter() - start
    if compiled.returncode != 0:
        print(f"FAIL {name}: compile exit {compiled.returncode}: {compiled.stderr}")
        return False
    rng = np.random.default_rng(20)
    inputs = [rng.standard_normal(shape, dtype=np.float32) for _, shape in input_shapes]
    ours, our_seconds = run_ours(out, inputs, output_shapes)
    theirs, opencv_seconds = run_opencv(opencv_dnn, path, inputs, len(output_shapes), workdir)
    ok = True
    for i, (a, b) in enumerate(zip(ours, theirs)):
        a = a.reshape(-1)
        if a.size != b.size:
            print(f"FAIL {name} output {i}: {a.size} elements, OpenCV {b.size}")
            ok = False
            continue
        error = float(np.max(np.abs(a - b)) / np.max(np.abs(b)))
        if not error <= TOLERANCE:  # NaN fails too
            print(f"FAIL {name} output {i}: relative error {error:.3g} > {TOLERANCE}")
            ok = False
        print(f"{name}: output {i} {list(output_shapes[i][1])}: relative error {error:.3g} "
              f"(max|ours-opencv| / max|opencv|); compile {compile_seconds:.1f} s; one call "
              f"{our_seconds * 1e3:.1f} ms (first, 1 process), opencv_dnn.py run "
              f"{opencv_seconds:.1f} s (process)")
    return ok


def main():
    fleettune, write_model, opencv_dnn, workdir = sys.argv[1:5]
    os.makedirs(workdir, exist_ok=True)
    results = [check_model(fleettune, write_model, opencv_dnn, workdir, name)
               for name in sys.argv[5:]]
    if not all(results):
        print(f"{results.count(False)} of {len(results)} models failed")
        return 1
    print("all models within", TOLERANCE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
