#include "cost_model/xgb_model.h"

#include <xgboost/c_api.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"

namespace fleettune::cost_model {

namespace internal {
void BoosterDeleter::operator()(void* booster) const { XGBoosterFree(booster); }
}  // namespace internal

namespace {

struct DMatrixDeleter {
  void operator()(void* matrix) const { XGDMatrixFree(matrix); }
};
using DMatrixPtr = std::unique_ptr<void, DMatrixDeleter>;
using BoosterPtr = std::unique_ptr<void, internal::BoosterDeleter>;

// Converts an XGBoost C API return code; `what` names the call's purpose.
absl::Status Check(int rc, absl::string_view what) {
  if (rc == 0) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("xgboost: ", what, ": ", XGBGetLastError()));
}

// Checks that every row has `width` columns; InvalidArgument naming the first bad row.
absl::Status CheckRowWidths(const std::vector<std::vector<float>>& rows, size_t width,
                            absl::string_view expected_from) {
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].size() != width) {
      return absl::InvalidArgumentError(absl::StrCat("feature row ", i, " has ", rows[i].size(),
                                                     " features, but ", expected_from, " has ",
                                                     width));
    }
  }
  return absl::OkStatus();
}

// A dense DMatrix of the rows; rows must all be `width` long. NaN entries are missing values.
absl::StatusOr<DMatrixPtr> MakeMatrix(const std::vector<std::vector<float>>& rows, size_t width) {
  std::vector<float> dense;
  dense.reserve(rows.size() * width);
  for (const std::vector<float>& row : rows) dense.insert(dense.end(), row.begin(), row.end());
  DMatrixHandle handle = nullptr;
  absl::Status status =
      Check(XGDMatrixCreateFromMat(dense.data(), rows.size(), width,
                                   std::numeric_limits<float>::quiet_NaN(), &handle),
            "creating a feature matrix");
  DMatrixPtr matrix(handle);
  if (!status.ok()) return status;
  return matrix;
}

absl::Status SetParam(BoosterHandle booster, const char* name, const std::string& value) {
  return Check(XGBoosterSetParam(booster, name, value.c_str()),
               absl::StrCat("setting ", name, "=", value));
}

absl::StatusOr<int> NumFeatures(BoosterHandle booster) {
  bst_ulong count = 0;
  if (absl::Status status =
          Check(XGBoosterGetNumFeature(booster, &count), "reading the feature count");
      !status.ok()) {
    return status;
  }
  return static_cast<int>(count);
}

}  // namespace

absl::StatusOr<std::unique_ptr<XgbModel>> XgbModel::Create(XgbOptions options) {
  if (options.objective != "rank:pairwise" && options.objective != "reg:squarederror") {
    return absl::InvalidArgumentError(
        absl::StrCat("XgbOptions.objective '", options.objective,
                     "' is not supported; use 'rank:pairwise' or 'reg:squarederror'"));
  }
  if (options.max_depth < 1 || options.max_depth > 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("XgbOptions.max_depth must be in [1, 32], got ", options.max_depth));
  }
  if (!(options.eta > 0 && options.eta <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("XgbOptions.eta must be in (0, 1], got ", options.eta));
  }
  if (options.num_rounds < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("XgbOptions.num_rounds must be >= 1, got ", options.num_rounds));
  }
  if (!(options.min_child_weight >= 0 && std::isfinite(options.min_child_weight))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "XgbOptions.min_child_weight must be finite and >= 0, got ", options.min_child_weight));
  }
  if (!(options.colsample_bytree > 0 && options.colsample_bytree <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "XgbOptions.colsample_bytree must be in (0, 1], got ", options.colsample_bytree));
  }
  if (options.nthread < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("XgbOptions.nthread must be >= 1, got ", options.nthread));
  }
  if (options.tree_method != "exact" && options.tree_method != "approx" &&
      options.tree_method != "hist" && options.tree_method != "auto") {
    return absl::InvalidArgumentError(
        absl::StrCat("XgbOptions.tree_method '", options.tree_method, "' is not supported"));
  }
  return std::unique_ptr<XgbModel>(new XgbModel(std::move(options)));
}

XgbModel::~XgbModel() = default;

absl::Status XgbModel::Fit(const std::vector<std::vector<float>>& features,
                           const std::vector<float>& throughput) {
  return FitGroups(features, throughput, {static_cast<unsigned>(features.size())});
}

absl::Status XgbModel::FitGroups(const std::vector<std::vector<float>>& features,
                                 const std::vector<float>& throughput,
                                 const std::vector<unsigned>& group_sizes,
                                 const std::vector<float>& group_weights) {
  if (features.empty()) return absl::InvalidArgumentError("Fit: no feature rows");
  if (features.size() != throughput.size()) {
    return absl::InvalidArgumentError(absl::StrCat("Fit: ", features.size(), " feature rows but ",
                                                   throughput.size(), " throughput values"));
  }
  const size_t width = features[0].size();
  if (width == 0) return absl::InvalidArgumentError("Fit: feature row 0 is empty");
  if (absl::Status status = CheckRowWidths(features, width, "row 0"); !status.ok()) {
    return status;
  }
  for (size_t i = 0; i < throughput.size(); ++i) {
    if (!std::isfinite(throughput[i]) || throughput[i] < 0) {
      return absl::InvalidArgumentError(absl::StrCat("Fit: throughput[", i, "] is ", throughput[i],
                                                     "; it must be finite and >= 0"));
    }
  }
  size_t grouped = 0;
  for (size_t g = 0; g < group_sizes.size(); ++g) {
    if (group_sizes[g] == 0) {
      return absl::InvalidArgumentError(absl::StrCat("Fit: group ", g, " is empty"));
    }
    grouped += group_sizes[g];
  }
  if (grouped != features.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Fit: the groups hold ", grouped, " rows but there are ", features.size()));
  }
  if (!group_weights.empty() && group_weights.size() != group_sizes.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Fit: ", group_weights.size(), " group weights for ", group_sizes.size(), " groups"));
  }
  for (size_t g = 0; g < group_weights.size(); ++g) {
    if (!(group_weights[g] > 0 && std::isfinite(group_weights[g]))) {
      return absl::InvalidArgumentError(
          absl::StrCat("Fit: group weight ", g, " is ", group_weights[g], "; it must be > 0"));
    }
  }
  // Throughput normalised per group (per workload), so shapes of different speed compare.
  std::vector<float> labels(throughput.size(), 0.0f);
  size_t begin = 0;
  for (unsigned size : group_sizes) {
    const float max_throughput =
        *std::max_element(throughput.begin() + begin, throughput.begin() + begin + size);
    if (max_throughput > 0) {
      for (size_t i = begin; i < begin + size; ++i) labels[i] = throughput[i] / max_throughput;
    }
    begin += size;
  }

  absl::StatusOr<DMatrixPtr> matrix = MakeMatrix(features, width);
  if (!matrix.ok()) return matrix.status();
  DMatrixHandle handle = matrix->get();
  if (absl::Status status = Check(
          XGDMatrixSetFloatInfo(handle, "label", labels.data(), labels.size()), "setting labels");
      !status.ok()) {
    return status;
  }
  const bool ranking = options_.objective == "rank:pairwise";
  if (ranking) {
    // The configs of one workload form one ranking group: pairs never cross workloads.
    if (absl::Status status =
            Check(XGDMatrixSetUIntInfo(handle, "group", group_sizes.data(), group_sizes.size()),
                  "setting the groups");
        !status.ok()) {
      return status;
    }
  }
  if (!group_weights.empty()) {
    // Ranking objectives take one weight per group, the others one per row.
    std::vector<float> weights;
    if (ranking) {
      weights = group_weights;
    } else {
      for (size_t g = 0; g < group_sizes.size(); ++g) {
        weights.insert(weights.end(), group_sizes[g], group_weights[g]);
      }
    }
    if (absl::Status status =
            Check(XGDMatrixSetFloatInfo(handle, "weight", weights.data(), weights.size()),
                  "setting the weights");
        !status.ok()) {
      return status;
    }
  }

  BoosterHandle raw_booster = nullptr;
  absl::Status status = Check(XGBoosterCreate(&handle, 1, &raw_booster), "creating a booster");
  BoosterPtr booster(raw_booster);
  if (!status.ok()) return status;
  const std::pair<const char*, std::string> params[] = {
      {"objective", options_.objective},
      {"max_depth", std::to_string(options_.max_depth)},
      {"eta", absl::StrCat(options_.eta)},
      {"seed", std::to_string(options_.seed)},
      {"nthread", std::to_string(options_.nthread)},
      {"tree_method", options_.tree_method},
      {"min_child_weight", absl::StrCat(options_.min_child_weight)},
      {"colsample_bytree", absl::StrCat(options_.colsample_bytree)},
      {"verbosity", "0"},
  };
  for (const auto& [name, value] : params) {
    if (status = SetParam(booster.get(), name, value); !status.ok()) return status;
  }
  for (int round = 0; round < options_.num_rounds; ++round) {
    status = Check(XGBoosterUpdateOneIter(booster.get(), round, handle),
                   absl::StrCat("boosting round ", round));
    if (!status.ok()) return status;
  }

  absl::MutexLock lock(&mutex_);
  booster_ = std::move(booster);
  num_features_ = static_cast<int>(width);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<float>> XgbModel::Predict(
    const std::vector<std::vector<float>>& features) const {
  absl::MutexLock lock(&mutex_);
  if (booster_ == nullptr) {
    return absl::FailedPreconditionError("Predict: the model is not trained; call Fit or Load");
  }
  if (features.empty()) return std::vector<float>{};
  const size_t width = static_cast<size_t>(num_features_);
  if (absl::Status status = CheckRowWidths(features, width, "the trained model"); !status.ok()) {
    return status;
  }
  absl::StatusOr<DMatrixPtr> matrix = MakeMatrix(features, width);
  if (!matrix.ok()) return matrix.status();
  const char* config = R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0,)"
                       R"( "strict_shape": false})";
  const bst_ulong* shape = nullptr;
  bst_ulong dims = 0;
  const float* scores = nullptr;
  if (absl::Status status = Check(XGBoosterPredictFromDMatrix(booster_.get(), matrix->get(), config,
                                                              &shape, &dims, &scores),
                                  "predicting");
      !status.ok()) {
    return status;
  }
  bst_ulong count = 1;
  for (bst_ulong d = 0; d < dims; ++d) count *= shape[d];
  if (count != features.size()) {
    return absl::InternalError(
        absl::StrCat("xgboost: predicting: got ", count, " scores for ", features.size(), " rows"));
  }
  return std::vector<float>(scores, scores + count);
}

absl::Status XgbModel::Save(const std::string& path) const {
  absl::MutexLock lock(&mutex_);
  if (booster_ == nullptr) {
    return absl::FailedPreconditionError("Save: the model is not trained; call Fit or Load");
  }
  bst_ulong size = 0;
  const char* bytes = nullptr;
  if (absl::Status status =
          Check(XGBoosterSaveModelToBuffer(booster_.get(), R"({"format": "ubj"})", &size, &bytes),
                "serializing the model");
      !status.ok()) {
    return status;
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes, static_cast<std::streamsize>(size));
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("Save: cannot write '", path, "'"));
  return absl::OkStatus();
}

absl::Status XgbModel::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("Load: cannot read '", path, "'"));
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("Load: '", path, "' is empty"));
  }
  BoosterHandle raw_booster = nullptr;
  absl::Status status = Check(XGBoosterCreate(nullptr, 0, &raw_booster), "creating a booster");
  BoosterPtr booster(raw_booster);
  if (!status.ok()) return status;
  if (status =
          Check(XGBoosterLoadModelFromBuffer(booster.get(), bytes.data(), bytes.size()), "loading");
      !status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Load: '", path, "' is not an XGBoost model: ", status.message()));
  }
  if (status = SetParam(booster.get(), "nthread", std::to_string(options_.nthread)); !status.ok()) {
    return status;
  }
  absl::StatusOr<int> num_features = NumFeatures(booster.get());
  if (!num_features.ok()) return num_features.status();
  if (*num_features <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("Load: '", path, "' holds a model without features"));
  }
  absl::MutexLock lock(&mutex_);
  booster_ = std::move(booster);
  num_features_ = *num_features;
  return absl::OkStatus();
}

bool XgbModel::trained() const {
  absl::MutexLock lock(&mutex_);
  return booster_ != nullptr;
}

int XgbModel::num_features() const {
  absl::MutexLock lock(&mutex_);
  return num_features_;
}

double KendallTau(const std::vector<float>& x, const std::vector<float>& y) {
  double concordant = 0, discordant = 0, ties_x = 0, ties_y = 0;
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
    for (size_t j = i + 1; j < x.size() && j < y.size(); ++j) {
      const double dx = x[i] - x[j], dy = y[i] - y[j];
      if (dx == 0 && dy == 0) continue;
      if (dx == 0) {
        ++ties_x;
      } else if (dy == 0) {
        ++ties_y;
      } else if ((dx > 0) == (dy > 0)) {
        ++concordant;
      } else {
        ++discordant;
      }
    }
  }
  const double n0 = concordant + discordant;
  const double denominator = std::sqrt((n0 + ties_x) * (n0 + ties_y));
  return denominator > 0 ? (concordant - discordant) / denominator : 0;
}

}  // namespace fleettune::cost_model
