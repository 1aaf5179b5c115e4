// Models for the graph tests, written at test time by scripts/models/write_model.py.
#ifndef FLEETTUNE_TESTS_GRAPH_MODEL_FILES_H_
#define FLEETTUNE_TESTS_GRAPH_MODEL_FILES_H_

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace fleettune::graph {

// Writes model `name` (write_model.py's MODEL argument) into the test's temp dir once per
// process and returns its path; a failed write fails the test.
inline std::string ModelFile(const std::string& name) {
  const std::string path = testing::TempDir() + "/graph_test_" + name + ".onnx";
  if (std::ifstream(path).good()) return path;
  // Written under a name of this process, then renamed: ctest runs the cases as parallel
  // processes that share the temp dir, and none may read another's half-written file.
  const std::string partial = path + "." + std::to_string(getpid());
  const std::string command =
      std::string(FLEETTUNE_PYTHON) + " " + FLEETTUNE_WRITE_MODEL + " " + name + " " + partial;
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  EXPECT_EQ(std::rename(partial.c_str(), path.c_str()), 0) << path;
  return path;
}

// Writes `bytes` to a file in the temp dir and returns its path.
inline std::string WriteFile(const std::string& name, const std::string& bytes) {
  const std::string path = testing::TempDir() + "/graph_test_" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), {});
}

}  // namespace fleettune::graph

#endif  // FLEETTUNE_TESTS_GRAPH_MODEL_FILES_H_
