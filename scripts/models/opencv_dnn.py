#!/usr/bin/python3
"""OpenCV DNN (Debian python3-opencv 4.6) on an ONNX model: the outside reference the graph
compiler's outputs and latency are compared with (issue #20).

  opencv_dnn.py run MODEL.onnx --input FILE.bin [--input ...] --output FILE.bin [--output ...]
      Reads each model input (graph order) from a raw little-endian float32 file of the
      input's shape, runs one forward pass and writes each model output (graph order) the
      same way. Exit 2 with a message when a file has the wrong size.
  opencv_dnn.py time MODEL.onnx [--threads N] [--repeat R] [--warmup W]
      Times forward passes of a seeded random input at N threads (0: OpenCV's default, all
      cores) and prints one JSON object: {"threads", "repeat", "median_ms", "min_ms", "ms"}.

Use Debian's /usr/bin/python3 (it has cv2, numpy and onnx).
"""
import argparse
import json
import sys
import time

import cv2
import numpy as np
import onnx


def graph_inputs(model):
    """(name, shape) of each non-initializer graph input, in graph order."""
    initializers = {t.name for t in model.graph.initializer}
    result = []
    for value in model.graph.input:
        if value.name in initializers:
            continue
        dims = [d.dim_value for d in value.type.tensor_type.shape.dim]
        if any(d <= 0 for d in dims):
            sys.exit(f"opencv_dnn: input '{value.name}' has a dynamic dimension {dims}")
        result.append((value.name, dims))
    return result


def load_net(path, threads):
    cv2.setNumThreads(threads)
    net = cv2.dnn.readNetFromONNX(path)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    return net


def forward(net, model, arrays):
    for (name, _), array in zip(graph_inputs(model), arrays):
        net.setInput(array, name)
    names = [o.name for o in model.graph.output]
    outputs = net.forward(names)
    return [np.asarray(o, dtype=np.float32) for o in outputs]


def run(args):
    model = onnx.load(args.model)
    inputs = graph_inputs(model)
    if len(args.input) != len(inputs):
        print(f"opencv_dnn: the model has {len(inputs)} inputs, got {len(args.input)} files",
              file=sys.stderr)
        return 2
    arrays = []
    for (name, shape), path in zip(inputs, args.input):
        data = np.fromfile(path, dtype="<f4")
        if data.size != int(np.prod(shape)):
            print(f"opencv_dnn: {path} holds {data.size} floats, input '{name}' {shape} needs "
                  f"{int(np.prod(shape))}", file=sys.stderr)
            return 2
        arrays.append(data.reshape(shape))
    outputs = forward(load_net(args.model, 1), model, arrays)
    if len(args.output) != len(outputs):
        print(f"opencv_dnn: the model has {len(outputs)} outputs, got {len(args.output)} files",
              file=sys.stderr)
        return 2
    for array, path in zip(outputs, args.output):
        array.astype("<f4").tofile(path)
    return 0


def time_model(args):
    model = onnx.load(args.model)
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(shape, dtype=np.float32) for _, shape in graph_inputs(model)]
    net = load_net(args.model, args.threads)
    for _ in range(args.warmup):
        forward(net, model, arrays)
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        forward(net, model, arrays)
        times.append((time.perf_counter() - start) * 1e3)
    print(json.dumps({"threads": args.threads, "repeat": args.repeat,
                      "median_ms": float(np.median(times)), "min_ms": min(times),
                      "ms": times}))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run")
    p.add_argument("model")
    p.add_argument("--input", action="append", default=[])
    p.add_argument("--output", action="append", default=[])
    p = sub.add_parser("time")
    p.add_argument("model")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeat", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    return run(args) if args.command == "run" else time_model(args)


if __name__ == "__main__":
    sys.exit(main())
