#!/usr/bin/env python3
"""Writes ONNX models with seeded random weights for fleettune's graph compiler and its tests.

Usage: write_model.py MODEL OUT.onnx [--seed N]

Models (opset 10, float32, batch 1; BatchNormalization left in as exporters write it; ReLU6 as
Clip with min/max attributes, which OpenCV DNN 4.6's importer needs):
  resnet50       ResNet-50 v1.5 (stride on the bottleneck's 3x3), 224x224, 53 Conv + 1 Gemm
  mobilenet_v2   MobileNet-V2, 224x224: inverted residuals, depthwise 3x3, ReLU6
  small          conv-bn-relu-maxpool-flatten-gemm on a 1x3x8x8 input
and small models for the network builder's tests:
  conv_chain     conv (bias), strided 1x1 conv, depthwise 3x3, flatten, gemm: tuned ops only
  residual_block ResNet's basic block on 1x16x8x8: conv-bn-relu-conv-bn, add input, relu
  depthwise_block MobileNet-V2's inverted residual on 1x8x8x8 (expand 6, ReLU6, add input)
and small models for the importer's tests:
  noop_reshape   small with a Reshape that keeps its input's shape
  const_fold     a Reshape whose shape is Mul/Add of constants, an Add of two constants
  dynamic        small with input shape [N,3,8,8]
  unsupported    small with an LSTM node
  missing_init   small whose Conv weight has no initializer
  shape_mismatch small whose Conv weight expects 4 input channels
"""
import argparse
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 10


class Builder:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.inits = []
        self.count = 0

    def name(self, prefix):
        self.count += 1
        return f"{prefix}{self.count}"

    def const(self, prefix, array):
        name = self.name(prefix)
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, op, inputs, prefix=None, **attrs):
        name = self.name(prefix or op.lower())
        self.nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def conv(self, x, c_in, c_out, kernel, stride=1, group=1, bias=False):
        fan_in = c_in // group * kernel * kernel
        w = self.rng.normal(0, np.sqrt(2.0 / fan_in), (c_out, c_in // group, kernel, kernel))
        inputs = [x, self.const("w", w.astype(np.float32))]
        if bias:
            inputs.append(self.const("b", self.rng.normal(0, 0.1, c_out).astype(np.float32)))
        pad = kernel // 2
        return self.node("Conv", inputs, kernel_shape=[kernel, kernel], strides=[stride, stride],
                         pads=[pad] * 4, group=group)

    def bn(self, x, channels):
        params = [
            self.rng.uniform(0.5, 1.5, channels),  # scale
            self.rng.normal(0, 0.1, channels),  # bias
            self.rng.normal(0, 0.1, channels),  # mean
            self.rng.uniform(0.5, 1.5, channels),  # var
        ]
        names = [self.const(p, v.astype(np.float32)) for p, v in zip("sbmv", params)]
        return self.node("BatchNormalization", [x] + names, prefix="bn", epsilon=1e-5)

    def relu(self, x):
        return self.node("Relu", [x])

    def relu6(self, x):
        return self.node("Clip", [x], min=0.0, max=6.0)

    def gemm(self, x, k, n):
        w = self.rng.normal(0, np.sqrt(1.0 / k), (n, k)).astype(np.float32)
        b = self.rng.normal(0, 0.1, n).astype(np.float32)
        return self.node("Gemm", [x, self.const("fc_w", w), self.const("fc_b", b)], transB=1)

    def model(self, x_shape, out, out_shape, input_name="input"):
        graph = helper.make_graph(
            self.nodes, "fleettune_model",
            [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, x_shape)],
            [helper.make_tensor_value_info(out, TensorProto.FLOAT, out_shape)], self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="fleettune write_model.py")
        model.ir_version = 7
        return model


def resnet50(b):
    x = b.relu(b.bn(b.conv("input", 3, 64, 7, stride=2), 64))
    x = b.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    c_in = 64
    for width, blocks, stride in [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]:
        for i in range(blocks):
            s = stride if i == 0 else 1
            y = b.relu(b.bn(b.conv(x, c_in, width, 1), width))
            y = b.relu(b.bn(b.conv(y, width, width, 3, stride=s), width))
            y = b.bn(b.conv(y, width, width * 4, 1), width * 4)
            shortcut = x if i > 0 else b.bn(b.conv(x, c_in, width * 4, 1, stride=s), width * 4)
            x = b.relu(b.node("Add", [y, shortcut]))
            c_in = width * 4
    x = b.node("Flatten", [b.node("GlobalAveragePool", [x])], axis=1)
    return b.model([1, 3, 224, 224], b.gemm(x, 2048, 1000), [1, 1000])


def mobilenet_v2(b):
    x = b.relu6(b.bn(b.conv("input", 3, 32, 3, stride=2), 32))
    c_in = 32
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                       (6, 160, 3, 2), (6, 320, 1, 1)]:
        for i in range(n):
            stride = s if i == 0 else 1
            hidden = c_in * t
            y = x if t == 1 else b.relu6(b.bn(b.conv(x, c_in, hidden, 1), hidden))
            y = b.relu6(b.bn(b.conv(y, hidden, hidden, 3, stride=stride, group=hidden), hidden))
            y = b.bn(b.conv(y, hidden, c, 1), c)
            x = b.node("Add", [x, y]) if stride == 1 and c_in == c else y
            c_in = c
    x = b.relu6(b.bn(b.conv(x, c_in, 1280, 1), 1280))
    x = b.node("Flatten", [b.node("GlobalAveragePool", [x])], axis=1)
    return b.model([1, 3, 224, 224], b.gemm(x, 1280, 1000), [1, 1000])


def small(b, variant=""):
    c_in = 4 if variant == "shape_mismatch" else 3
    x = b.conv("input", c_in, 8, 3, bias=True)
    if variant == "missing_init":
        b.inits = [t for t in b.inits if not t.name.startswith("w")]
    x = b.relu(b.bn(x, 8))
    x = b.node("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
    if variant == "noop_reshape":
        x = b.node("Reshape", [x, b.const("shape", np.array([1, 8, 4, 4], np.int64))])
    if variant == "unsupported":
        b.nodes.append(helper.make_node("LSTM", [x], ["lstm_y"], name="lstm1", hidden_size=4))
    x = b.node("Flatten", [x], axis=1)
    out = b.gemm(x, 128, 10)
    dims = ["N", 3, 8, 8] if variant == "dynamic" else [1, 3, 8, 8]
    return b.model(dims, out, [dims[0], 10])


def conv_chain(b):
    x = b.conv("input", 3, 8, 3, bias=True)
    x = b.conv(x, 8, 16, 1, stride=2)
    x = b.conv(x, 16, 16, 3, group=16, bias=True)
    x = b.node("Flatten", [x], axis=1)
    return b.model([1, 3, 8, 8], b.gemm(x, 256, 10), [1, 10])


def residual_block(b):
    y = b.relu(b.bn(b.conv("input", 16, 16, 3), 16))
    y = b.bn(b.conv(y, 16, 16, 3), 16)
    return b.model([1, 16, 8, 8], b.relu(b.node("Add", [y, "input"])), [1, 16, 8, 8])


def depthwise_block(b):
    y = b.relu6(b.bn(b.conv("input", 8, 48, 1), 48))
    y = b.relu6(b.bn(b.conv(y, 48, 48, 3, group=48), 48))
    y = b.bn(b.conv(y, 48, 8, 1), 8)
    return b.model([1, 8, 8, 8], b.node("Add", ["input", y]), [1, 8, 8, 8])


def const_fold(b):
    # shape = [1,2] * [1,32] + [0,0] = [1,64]; bias = 0.5 + ones(10) * 2.
    shape = b.node("Mul", [b.const("s", np.array([1, 2], np.int64)),
                           b.const("s", np.array([1, 32], np.int64))])
    shape = b.node("Add", [shape, b.const("s", np.array([0, 0], np.int64))])
    x = b.node("Reshape", ["input", shape])
    bias = b.node("Add", [b.const("h", np.float32([0.5])),
                          b.node("Mul", [b.const("o", np.ones(10, np.float32)),
                                         b.const("t", np.float32([2.0]))])])
    w = b.const("fc_w", b.rng.normal(0, 0.1, (10, 64)).astype(np.float32))
    out = b.node("Gemm", [x, w, bias], transB=1)
    return b.model([2, 32], out, [1, 10])


MODELS = {
    "resnet50": resnet50,
    "mobilenet_v2": mobilenet_v2,
    "small": small,
    "const_fold": const_fold,
    "conv_chain": conv_chain,
    "residual_block": residual_block,
    "depthwise_block": depthwise_block,
}
for _variant in ["noop_reshape", "dynamic", "unsupported", "missing_init", "shape_mismatch"]:
    MODELS[_variant] = lambda b, v=_variant: small(b, v)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=sorted(MODELS))
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    model = MODELS[args.model](Builder(args.seed))
    if args.model not in ("unsupported", "missing_init", "shape_mismatch"):
        onnx.checker.check_model(model)
    onnx.save(model, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
