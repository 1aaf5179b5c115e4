// ONNX import: an ONNX model file (opsets 9-17) as a Graph with static shapes.
#ifndef FLEETTUNE_GRAPH_ONNX_IMPORT_H_
#define FLEETTUNE_GRAPH_ONNX_IMPORT_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/graph.h"

namespace fleettune::graph {

// The ONNX op types the importer accepts, in the order error messages list them.
const std::vector<std::string>& SupportedOpTypes();

// Input shapes that replace the model's own: input name -> dimensions.
using InputShapes = std::map<std::string, std::vector<int64_t>>;

// Parses `--input-shape` text `name=d0,d1,...` (each d >= 1) into `shapes`. InvalidArgument
// naming the bad part otherwise (no `=`, empty name, a dimension that is not a positive
// integer, a name given twice).
absl::Status ParseInputShape(std::string_view text, InputShapes& shapes);
// Every `--input-shape` text of a command line, as ParseInputShape reads each.
absl::StatusOr<InputShapes> ParseInputShapes(const std::vector<std::string>& texts);

// Reads the ONNX model at `path`, applies `input_shapes`, runs ONNX's checker and shape
// inference, and returns its graph: float32 tensors with static shapes, initializers (and
// Constant nodes) as constant tensors, ops in topological order.
//
// Errors (each InvalidArgument naming the part; nothing crashes on a bad file):
// unreadable file (NotFound), not an ONNX model (truncated, text), opset outside 9-17, an op
// outside SupportedOpTypes() (names the node, its type and the supported list), an input that
// no initializer, graph input or earlier node defines (names the node and the input), a
// dynamic dimension left (names the input), an --input-shape naming no input or of the wrong
// rank, a shape mismatch (names the node). Thread-safe.
absl::StatusOr<Graph> ImportOnnx(const std::string& path, const InputShapes& input_shapes = {});

}  // namespace fleettune::graph

#endif  // FLEETTUNE_GRAPH_ONNX_IMPORT_H_
