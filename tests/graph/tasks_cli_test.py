#!/usr/bin/python3
"""`fleettune tasks --model` on generated ResNet-50 v1.5 and MobileNet-V2 against an independent
count: python (onnx + numpy) reads the same file, infers shapes, and turns every Conv and Gemm
into the workload string and FLOPs the codegen grammar gives them, with the tail FuseEpilogues
fuses into it (a residual Add, then Relu or Clip to [0, 6]; docs/graph.md). Then the command's bad-input
exits, and `--memory`'s figures against a plan python computes from the final `--dump-graph`.

Usage: tasks_cli_test.py FLEETTUNE WRITE_MODEL WORKDIR
"""
import collections
import json
import os
import re
import subprocess
import sys

import onnx
from onnx import numpy_helper, shape_inference

from checks import check, finish


def expected_tasks(path):
    """workload -> (count, flops) computed from the ONNX file alone."""
    model = shape_inference.infer_shapes(onnx.load(path))
    g = model.graph
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in list(g.input) + list(g.value_info) + list(g.output)}
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    for name, array in inits.items():
        shapes[name] = list(array.shape)
    consumers = collections.Counter(i for n in g.node for i in n.input)
    graph_outputs = {o.name for o in g.output}
    tasks = collections.Counter()
    flops = {}
    absorbed = set()  # names of the Adds fused into an op earlier in the graph

    def sole_consumer(name):
        if consumers[name] != 1 or name in graph_outputs:
            return None
        return next(n for n in g.node if name in n.input)

    def fused_tail(out):
        """(params, FLOPs per output element) of the tail fused after the op writing `out`: an
        Add of a tensor shaped like `out` (residual), then a Relu or a Clip to [0, 6]. (These
        models have no Add of a constant bias, the pass's other rule.)"""
        residual, activation = False, None
        after = sole_consumer(out)
        if after is not None and after.op_type == "Add" and after.name not in absorbed:
            other = [i for i in after.input if i != out]
            if len(other) == 1 and shapes[other[0]] == shapes[out] == shapes[after.output[0]]:
                absorbed.add(after.name)
                residual, out = True, after.output[0]
                after = sole_consumer(out)
        if after is not None and after.op_type == "Relu":
            activation = "relu"
        elif after is not None and after.op_type == "Clip":
            bounds = {a.name: onnx.helper.get_attribute_value(a) for a in after.attribute}
            if len(after.input) == 1 and bounds.get("min") == 0 and bounds.get("max") == 6:
                activation = "relu6"
        params = (",relu=1" if activation == "relu" else "") + (",residual=1" if residual else "")
        params += ",relu6=1" if activation == "relu6" else ""
        return params, int(residual) + int(activation is not None)

    for node in g.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Conv":
            n, c, h, w = shapes[node.input[0]]
            k, _, r, s = shapes[node.input[1]]
            stride, pad = attrs["strides"][0], attrs["pads"][0]
            # A BatchNormalization reading only this conv is folded into a bias.
            bn = [m for m in g.node if m.op_type == "BatchNormalization" and m.input[0] == node.output[0]]
            folded = bool(bn) and consumers[node.output[0]] == 1
            bias = len(node.input) > 2 or folded
            tail, tail_flops = fused_tail(bn[0].output[0] if folded else node.output[0])
            oh, ow = (h + 2 * pad - r) // stride + 1, (w + 2 * pad - s) // stride + 1
            if attrs.get("group", 1) == 1:
                key = f"conv2d:n={n},c={c},h={h},w={w},k={k},r={r},s={s},stride={stride},pad={pad}"
                taps = c * r * s
            else:
                assert attrs["group"] == c == k
                key = f"depthwise_conv2d:n={n},c={c},h={h},w={w},r={r},s={s},stride={stride},pad={pad}"
                taps = r * s
            key += (",bias=1" if bias else "") + tail
            flops[key] = n * k * oh * ow * (2 * taps + (1 if bias else 0) + tail_flops)
        elif node.op_type == "Gemm":
            m, kk = shapes[node.input[0]]
            nn = shapes[node.input[1]][0 if attrs.get("transB", 0) else 1]
            tail, tail_flops = fused_tail(node.output[0])
            key = f"matmul:m={m},n={nn},k={kk}" + (",bias=1" if len(node.input) > 2 else "") + tail
            flops[key] = m * nn * (2 * kk + (1 if len(node.input) > 2 else 0) + tail_flops)
        else:
            continue
        tasks[key] += 1
    return {key: (count, flops[key]) for key, count in tasks.items()}


def run(fleettune, *args):
    return subprocess.run([fleettune, "tasks", *args], capture_output=True, text=True)


def check_model(fleettune, path, name, convs, gemms, depthwise):
    result = run(fleettune, "--model", path, "--json")
    check(result.returncode == 0, f"{name}: exit {result.returncode}: {result.stderr}")
    if result.returncode != 0:
        return
    got = json.loads(result.stdout)
    expected = expected_tasks(path)
    got_map = {t["workload"]: (t["count"], t["flops"]) for t in got}
    check(got_map == expected, f"{name}: workloads differ:\n got {sorted(got_map.items())}\n "
                               f"expected {sorted(expected.items())}")
    check(len(got_map) == len(got), f"{name}: a workload listed twice")
    check(sum(t["count"] for t in got) == convs + gemms,
          f"{name}: counts sum to {sum(t['count'] for t in got)}, not {convs + gemms}")
    check(sum(1 for t in got for _ in range(t["count"]) if t["workload"].startswith("depthwise_"))
          == depthwise, f"{name}: depthwise count")
    total = sum(t["count"] * t["flops"] for t in got)
    check(abs(sum(t["share"] for t in got) - 1) < 1e-6, f"{name}: shares do not sum to 1")
    for t in got:
        check(abs(t["share"] - t["count"] * t["flops"] / total) < 1e-9, f"{name}: share of {t}")
    shares = [t["share"] for t in got]
    check(shares == sorted(shares, reverse=True), f"{name}: not sorted by share")
    print(f"{name}: {len(got)} workloads, {sum(t['count'] for t in got)} ops, "
          f"{total / 1e9:.2f} GFLOP")


TENSOR = re.compile(r"([^\s,()]+)\[([\d,]*)\]( const)?")


def expected_memory(dump):
    """(intermediates, peak, buffers, naive) of the greedy plan docs/graph.md describes, computed
    from the graph text `--dump-graph` prints after the last pass."""
    lines = re.split(r"# after \w+\n", dump)[-1].splitlines()
    external = {m[0] for line in lines[:2] for m in TENSOR.findall(line)}
    live, size = {}, {}
    for i, line in enumerate(lines[2:]):
        ins, outs = line.split(" -> ", 1)
        for name, _, _ in TENSOR.findall(ins):
            if name in live:
                live[name][1] = i
        for name, shape, const in TENSOR.findall(outs):
            if name not in external and not const:
                live[name] = [i, i]
                elements = 1
                for d in filter(None, shape.split(",")):
                    elements *= int(d)
                size[name] = (elements * 4 + 63) // 64 * 64
    buffers = []  # [bytes, [names]]
    for name in sorted(live, key=lambda n: (-size[n], live[n][0])):
        a, b = live[name]
        free = [buf for buf in buffers
                if all(b < live[o][0] or live[o][1] < a for o in buf[1])]
        if free:
            min(free, key=lambda buf: buf[0])[1].append(name)
        else:
            buffers.append([size[name], [name]])
    return len(live), sum(buf[0] for buf in buffers), len(buffers), sum(size.values())


def check_memory(fleettune, path, name):
    result = run(fleettune, "--model", path, "--memory", "--dump-graph")
    check(result.returncode == 0, f"{name} --memory: exit {result.returncode}: {result.stderr}")
    match = re.search(r"^memory: (\d+) intermediates, peak (\d+) bytes in (\d+) buffers, "
                      r"naive sum (\d+) bytes \(peak is [\d.]+% of naive\)$", result.stdout, re.M)
    check(match is not None, f"{name} --memory: no memory line in {result.stdout[-300:]!r}")
    if match is None:
        return
    got = tuple(int(g) for g in match.groups())
    expected = expected_memory(result.stderr)
    check(got == expected, f"{name} --memory: printed {got}, python's plan {expected}")
    print(f"{name}: {match.group(0)}")


def main():
    fleettune, write_model, workdir = sys.argv[1:4]
    os.makedirs(workdir, exist_ok=True)
    paths = {}
    for name in ["resnet50", "mobilenet_v2", "dynamic"]:
        paths[name] = os.path.join(workdir, name + ".onnx")
        subprocess.run([sys.executable, write_model, name, paths[name]], check=True)
    # ResNet-50 v1.5: 53 convolutions (4 of them shortcut projections) and the classifier.
    check_model(fleettune, paths["resnet50"], "resnet50", 53, 1, 0)
    # MobileNet-V2: 52 convolutions, 17 of them depthwise, and the classifier.
    check_model(fleettune, paths["mobilenet_v2"], "mobilenet_v2", 52, 1, 17)

    text = run(fleettune, "--model", paths["resnet50"])
    summary = f"{len(expected_tasks(paths['resnet50']))} workloads, 54 tunable ops"
    check(text.returncode == 0 and summary in text.stdout,
          f"text summary lacks {summary!r}: {text.stdout[-200:]}")
    check("memory:" not in text.stdout, "the memory line is printed only with --memory")
    check_memory(fleettune, paths["resnet50"], "resnet50")
    dump = run(fleettune, "--model", paths["mobilenet_v2"], "--dump-graph").stderr
    fused = dump.split("# after FuseEpilogues\n")[-1]
    check("# after FuseEpilogues\n" in dump and "fused_activation=2" in fused
          and "fused_residual=1" in fused and "Clip(" not in fused,
          "--dump-graph shows the fused epilogue after FuseEpilogues")
    check_memory(fleettune, paths["mobilenet_v2"], "mobilenet_v2")
    both = run(fleettune, "--model", paths["resnet50"], "--memory", "--json")
    check(both.returncode != 0 and "excludes" in both.stderr, f"--memory --json: {both.stderr}")
    truncated = os.path.join(workdir, "truncated.onnx")
    with open(paths["mobilenet_v2"], "rb") as f, open(truncated, "wb") as out:
        out.write(f.read(1000))
    cases = [
        (["--model", truncated], "not an ONNX model"),
        (["--model", paths["dynamic"]], "input 'input': dimension 0 is dynamic"),
        (["--model", paths["dynamic"], "--input-shape", "input=1,3"], "4 dimensions, not 2"),
        (["--model", paths["dynamic"], "--input-shape", "input"], "name=d0,d1"),
        (["--model", paths["resnet50"], "--target", "llvm -mtriple=nonsense"], "nonsense"),
        (["--model", os.path.join(workdir, "absent.onnx")], "cannot open"),
    ]
    for args, message in cases:
        result = run(fleettune, *args)
        check(result.returncode == 2, f"{args}: exit {result.returncode}, not 2")
        check(result.stderr.startswith("fleettune tasks: error: ") and message in result.stderr,
              f"{args}: stderr {result.stderr!r} lacks {message!r}")
        check(result.stdout == "", f"{args}: wrote to stdout")
    fixed = run(fleettune, "--model", paths["dynamic"], "--input-shape", "input=1,3,8,8", "--json")
    check(fixed.returncode == 0 and json.loads(fixed.stdout)[0]["workload"].startswith(
        "conv2d:n=1,c=3,h=8,w=8"), f"--input-shape fixes the dynamic model: {fixed.stderr}")
    usage = run(fleettune, "--help")
    check(usage.returncode == 0 and "--input-shape" in usage.stdout, "tasks --help")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
