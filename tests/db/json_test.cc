// The database's JSON text: reading export lines and the config/costs columns with simdjson,
// the writer, and one record line both ways (db/internal/simdjson_text.h,
// db/internal/json_write.h, db/internal/record_json.h, db/internal/record_codec.h).
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "db/internal/import_reader.h"
#include "db/internal/json_write.h"
#include "db/internal/record_codec.h"
#include "db/internal/record_json.h"
#include "gtest/gtest.h"
#include "tests/db/test_util.h"

namespace fleettune::db::internal {
namespace {

constexpr char kRest[] =
    R"("target":"t","device_key":"d","job":"j","config_hash":"ff","status":"OK",)"
    R"("config":{"template_name":"t","knobs":[{"name":"a","value":1}]})";

// A record line with `members` ("\"key\":value,") before the required fields.
absl::StatusOr<Record> Line(const std::string& members) {
  return RecordFromJsonLine("{" + members + R"("workload":"w","trial":1,)" + kRest + "}");
}

// The template name `literal` (a JSON string literal) decodes to, read as a stored config.
std::string Decoded(const std::string& literal) {
  absl::StatusOr<v1::Config> config = ConfigFromJson(R"({"template_name":)" + literal + "}");
  return config.ok() ? config->template_name() : "failed: " + config.status().ToString();
}

TEST(JsonReaderTest, DecodesEscapesAndSurrogatePairs) {
  EXPECT_EQ(Decoded(R"("a\"b\\c\/d")"), "a\"b\\c/d");
  EXPECT_EQ(Decoded(R"("\n\t\r\b\f")"), "\n\t\r\b\f");
  EXPECT_EQ(Decoded(R"("\u00e9\u20AC")"), "\xC3\xA9\xE2\x82\xAC");
  EXPECT_EQ(Decoded(R"("\ud83d\ude00")"), "\xF0\x9F\x98\x80");
  EXPECT_EQ(Decoded(R"("")"), "");
}

// Malformed text anywhere in a line, kept or not, makes the line invalid JSON.
TEST(JsonReaderTest, RejectsMalformedText) {
  for (const char* text :
       {R"(["a",])", R"(["a" "b"])", R"(["abc)", "[\"a\x01\"]", R"(["\x"])", R"(["\ud83d"])",
        R"(["\ude00"])", R"(["a"] x)", R"([)", "", "[\"\xC3\"]", "[\"\xFF\"]"}) {
    for (const std::string key : {"\"x\":", "\"error\":"}) {
      absl::StatusOr<Record> record = Line(key + text + ",");
      ASSERT_FALSE(record.ok()) << key << text;
      EXPECT_NE(record.status().message().find("not valid JSON ("), std::string::npos)
          << record.status() << " " << key << text;
    }
  }
}

TEST(JsonReaderTest, NumbersAreTypedAndChecked) {
  absl::StatusOr<Record> record = Line(R"("timestamp_ms":-42,"schema_version":0,)"
                                       R"("mean_cost":1.5,"gflops":1e-300,)"
                                       R"("nested":{"a":[1,{"b":null}],"t":true,"f":false},)");
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->timestamp_ms, -42);
  EXPECT_EQ(record->schema_version, 0);
  EXPECT_EQ(record->mean_cost, 1.5);
  EXPECT_EQ(record->gflops, 1e-300);
  record = Line(R"("timestamp_ms":9223372036854775807,)");
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->timestamp_ms, std::numeric_limits<int64_t>::max());
  record = Line(R"("timestamp_ms":1.5,)");  // a mismatch, not a syntax error
  EXPECT_EQ(record.status().message(), "field 'timestamp_ms' is not an integer");
  record = Line(R"("mean_cost":1e999,)");
  EXPECT_EQ(record.status().message(), "field 'mean_cost' is not finite");
}

TEST(JsonReaderTest, MalformedNumbersFail) {
  for (const char* text : {"01", "1.", "-", "1e", ".5", "+1", "1.5.2"}) {
    absl::StatusOr<Record> record = Line(std::string(R"("x":)") + text + ",");
    ASSERT_FALSE(record.ok()) << text;
    EXPECT_NE(record.status().message().find("not valid JSON ("), std::string::npos)
        << record.status() << " " << text;
    absl::StatusOr<std::vector<double>> costs = CostsFromJson(std::string("[") + text + "]");
    EXPECT_FALSE(costs.ok()) << text;
  }
}

TEST(JsonReaderTest, StoredColumnsAreReadAndCheckedWithTheirMessages) {
  absl::StatusOr<v1::Config> config = ConfigFromJson(
      R"({"template_name":"m","knobs":[{"name":"a","value":"-8"},{"name":"b","value":3},{}]})");
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->knobs_size(), 3);
  EXPECT_EQ(config->knobs(0).value(), -8);
  EXPECT_EQ(config->knobs(1).value(), 3);
  for (const auto& [json, why] : std::vector<std::pair<std::string, std::string>>{
           {"[1]", "not a JSON object"},
           {"{\"template_name\":1}", "template_name is not a string"},
           {"{\"knobs\":{}}", "knobs is not an array"},
           {"{\"knobs\":[1]}", "a knob is not an object"},
           {"{\"knobs\":[{\"value\":\"x\"}]}", "a knob value is not an integer"},
           {"{\"knobs\":[{\"name\":2}]}", "a knob name is not a string"},
           {"{\"other\":1}", "unknown field 'other'"},
           {"{\"knobs\":[]} x", "not valid JSON"}}) {
    config = ConfigFromJson(json);
    ASSERT_FALSE(config.ok()) << json;
    EXPECT_EQ(config.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(config.status().message().find(": " + why), std::string::npos) << config.status();
  }
  EXPECT_EQ(*CostsFromJson("[1.5, 2]"), (std::vector<double>{1.5, 2}));
  EXPECT_EQ(*CostsFromJson("[]"), std::vector<double>{});
  EXPECT_NE(CostsFromJson("[1,\"x\"]").status().message().find("hold a value that is not a number"),
            std::string::npos);
  EXPECT_NE(CostsFromJson("{}").status().message().find("are not a JSON array"), std::string::npos);
  EXPECT_NE(CostsFromJson("[1] 2").status().message().find("are not a JSON array"),
            std::string::npos);
}

TEST(JsonWriterTest, StringsEscapeWhatJsonRequires) {
  std::string out;
  AppendJsonString("q\"b\\n\n\x01\xC3\xA9", &out);
  EXPECT_EQ(out, "\"q\\\"b\\\\n\\n\\u0001\xC3\xA9\"");
  EXPECT_EQ(Decoded(out), "q\"b\\n\n\x01\xC3\xA9");
}

TEST(JsonWriterTest, DoublesRoundTripInShortestForm) {
  const double values[] = {0.1,  0.30000000000000004,    1e-300,    5e-324, 2.5e-5, 1.0,
                           -3.0, 1.7976931348623157e308, 123456.789};
  for (double value : values) {
    std::string out;
    AppendJsonDouble(value, &out);
    absl::StatusOr<std::vector<double>> back = CostsFromJson("[" + out + "]");
    ASSERT_TRUE(back.ok()) << back.status() << " " << out;
    EXPECT_EQ(*back, std::vector<double>{value}) << out;
  }
  std::string out;
  AppendJsonDouble(1.0, &out);
  EXPECT_EQ(out, "1.0");
  out.clear();
  AppendJsonDouble(0.1, &out);
  EXPECT_EQ(out, "0.1");
}

TEST(RecordJsonTest, LineRoundTripsEveryField) {
  Record record = testing::MakeRecord("matmul:m=64,n=64,k=64", "job \"x\"\t1", 7, v1::OK, 2.5e-4);
  record.costs = {2.5e-4, 0.30000000000000004, 1e-300};
  record.error = "quote ' \"double\" \xC3\xA9 \x01 line\nbreak";
  record.config_hash = 0xFEDCBA9876543210ULL;
  record.llvm_version = "14.0.6";
  record.device = {"Raspberry Pi 4", "Cortex-A72", 4, "0.2.0"};
  record.schema_version = 2;
  absl::StatusOr<std::string> line = RecordToJsonLine(record);
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->find('\n'), std::string::npos);
  absl::StatusOr<Record> back = RecordFromJsonLine(*line);
  ASSERT_TRUE(back.ok()) << back.status() << "\n" << *line;
  EXPECT_EQ(back->workload_key, record.workload_key);
  EXPECT_EQ(back->target_key, record.target_key);
  EXPECT_EQ(back->device_key, record.device_key);
  EXPECT_EQ(back->job, record.job);
  EXPECT_EQ(back->trial, 7);
  EXPECT_EQ(back->config.SerializeAsString(), record.config.SerializeAsString());
  EXPECT_EQ(back->config_hash, record.config_hash);
  EXPECT_EQ(back->status, v1::OK);
  EXPECT_EQ(back->costs, record.costs);
  EXPECT_EQ(back->mean_cost, record.mean_cost);
  EXPECT_EQ(back->gflops, record.gflops);
  EXPECT_EQ(back->error, record.error);
  EXPECT_EQ(back->board_id, record.board_id);
  EXPECT_EQ(back->timestamp_ms, record.timestamp_ms);
  EXPECT_EQ(back->version, record.version);
  EXPECT_EQ(back->llvm_version, "14.0.6");
  EXPECT_EQ(back->device.model, "Raspberry Pi 4");
  EXPECT_EQ(back->device.cpu, "Cortex-A72");
  EXPECT_EQ(back->device.cores, 4);
  EXPECT_EQ(back->device.runtime_version, "0.2.0");
  EXPECT_EQ(back->schema_version, 2);
  EXPECT_TRUE(back->confirmed_costs.empty());
  EXPECT_TRUE(back->confirmed_default_costs.empty());
  EXPECT_EQ(line->find("confirmed"), std::string::npos) << *line;  // absent when unconfirmed

  record.confirmed_costs = {2.5e-4, 0.30000000000000004, 1e-300};
  record.confirmed_default_costs = {1e-3, 2e-3, 3e-3};
  line = RecordToJsonLine(record);
  ASSERT_TRUE(line.ok()) << line.status();
  back = RecordFromJsonLine(*line);
  ASSERT_TRUE(back.ok()) << back.status() << "\n" << *line;
  EXPECT_EQ(back->confirmed_costs, record.confirmed_costs);  // bit-exact doubles
  EXPECT_EQ(back->confirmed_default_costs, record.confirmed_default_costs);
  record.confirmed_default_costs.clear();
  line = RecordToJsonLine(record);
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->find("confirmed_default_costs"), std::string::npos) << *line;
  back = RecordFromJsonLine(*line);
  ASSERT_TRUE(back.ok()) << back.status() << "\n" << *line;
  EXPECT_EQ(back->confirmed_costs, record.confirmed_costs);
  EXPECT_TRUE(back->confirmed_default_costs.empty());
}

// A bulk import parses into recycled records: fields a line leaves out must come back as
// defaults, not as the previous line's values.
TEST(RecordJsonTest, ParsingIntoAUsedRecordLeavesNothingOfTheOldOne) {
  Record full = testing::MakeRecord("matmul:m=64,n=64,k=64", "job-1", 7, v1::OK, 2.5e-4);
  full.error = "old error";
  full.llvm_version = "14.0.6";
  full.device = {"Raspberry Pi 4", "Cortex-A72", 4, "0.2.0"};
  full.schema_version = 2;
  full.confirmed_costs = {2e-4};
  full.confirmed_default_costs = {3e-4};
  absl::StatusOr<std::string> line = RecordToJsonLine(full);
  ASSERT_TRUE(line.ok()) << line.status();
  const std::string minimal =
      R"({"workload":"w","target":"t","device_key":"d","job":"j","trial":3,"config_hash":"ff",)"
      R"("status":"TIMEOUT","config":{"template_name":"x","knobs":[{"name":"a","value":1}]}})";
  Record reused;
  ASSERT_TRUE(RecordFromJsonLine(*line, &reused).ok());
  EXPECT_EQ(reused.config.knobs_size(), 1);
  ASSERT_TRUE(RecordFromJsonLine(minimal, &reused).ok());
  absl::StatusOr<Record> fresh = RecordFromJsonLine(minimal);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ(reused.workload_key, "w");
  EXPECT_EQ(reused.trial, 3);
  EXPECT_EQ(reused.status, v1::TIMEOUT);
  EXPECT_EQ(reused.config.SerializeAsString(), fresh->config.SerializeAsString());
  EXPECT_EQ(reused.config.knobs(0).name(), "a");
  EXPECT_TRUE(reused.costs.empty());
  EXPECT_TRUE(reused.confirmed_costs.empty());
  EXPECT_TRUE(reused.confirmed_default_costs.empty());
  EXPECT_EQ(reused.mean_cost, 0);
  EXPECT_EQ(reused.gflops, 0);
  EXPECT_EQ(reused.error, "");
  EXPECT_EQ(reused.board_id, "");
  EXPECT_EQ(reused.timestamp_ms, 0);
  EXPECT_EQ(reused.version, "");
  EXPECT_EQ(reused.llvm_version, "");
  EXPECT_EQ(reused.device.model, "");
  EXPECT_EQ(reused.device.cpu, "");
  EXPECT_EQ(reused.device.cores, 0);
  EXPECT_EQ(reused.device.runtime_version, "");
  EXPECT_EQ(reused.schema_version, kCurrentSchemaVersion);
  EXPECT_EQ(fresh->schema_version, kCurrentSchemaVersion);
}

TEST(RecordJsonTest, ErrorsNameTheFieldWhateverTheKeyOrder) {
  const std::string config = R"("config":{"template_name":"t","knobs":[{"name":"a","value":1}]})";
  const std::string rest =
      R"("device_key":"d","job":"j","trial":1,"config_hash":"ff","status":"OK")";
  const std::pair<std::string, std::string> cases[] = {
      {"{\"target\":5,\"workload\":\"w\"," + rest + "," + config + "}",
       "field 'target' is not a string"},
      {"{" + rest + "," + config + ",\"workload\":\"w\"}", "field 'target' is missing"},
      {R"({"workload":"w","target":"t",)" + rest + "}", "field 'config' is not an object"},
      {R"({"workload":"w","target":"t","trial":1.5,)" + rest.substr(0, rest.find("\"trial\"")) +
           R"("config_hash":"ff","status":"OK",)" + config + "}",
       "field 'trial' is not an integer"},
      {R"({"workload":"w","target":"t",)" + rest +
           R"(,"config":{"template_name":"t","knobs":[{"name":"a"}]}})",
       "config.knobs"},
      {R"({"workload":"w","target":"t",)" + rest + "," + config + R"(,"costs":[1,"x"]})",
       "field 'costs' holds a value that is not a finite number"},
      {R"({"workload":"w","target":"t",)" + rest + "," + config + R"(,"device":{"cores":"8"}})",
       "device: field 'cores' is not an integer"},
      {R"({"workload":"w","target":"t",)" + rest + "," + config + R"(,"mean_cost":1e999})",
       "field 'mean_cost' is not finite"},
      {R"({"confirmed_costs":[1,"x"],"workload":"w","target":"t",)" + rest + "," + config + "}",
       "field 'confirmed_costs' holds a value that is not a finite number"},
      {R"({"workload":"w","target":"t",)" + rest + "," + config +
           R"(,"confirmed_default_costs":{"a":1},"confirmed_costs":[1]})",
       "field 'confirmed_default_costs' is not an array"},
      {R"({"workload":"w","target":"t",)" + rest + "," + config +
           R"(,"confirmed_costs":[1,-2],"confirmed_default_costs":[1,2]})",
       "confirmed_costs[1] is -2; a confirmed cost is a finite, positive number"},
      {R"({"workload":"w","target":"t",)" + rest + "," + config +
           R"(,"confirmed_costs":[1,2],"confirmed_default_costs":[1]})",
       "confirmed_default_costs has 1 values and confirmed_costs 2"},

      {R"({"workload":"w","target":"t",)" + rest + "," + config + "} trailing", "not valid JSON"},
      {R"({"workload":"w","target":5,)" + rest + "," + config + ",}", "not valid JSON"},
      {"[1,2]", "not a JSON object"},
      {R"({"workload":"w","target":"t","device_key":"d","job":"j","trial":1,"config_hash":"xyz","status":"OK",)" +
           config + "}",
       "field 'config_hash' is not a hex string"},
      {R"({"workload":"w","target":"t","device_key":"d","job":"j","trial":1,"config_hash":"ff","status":"NOPE",)" +
           config + "}",
       "field 'status' 'NOPE' is not a measurement status"},
  };
  for (const auto& [line, needle] : cases) {
    absl::StatusOr<Record> record = RecordFromJsonLine(line);
    ASSERT_FALSE(record.ok()) << line;
    EXPECT_EQ(record.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(record.status().message().find(needle), std::string::npos) << record.status() << "\n"
                                                                         << line;
  }
}

// What the simdjson reader handles differently from the hand-written reader it replaced:
// each error names the problem; none of these may crash or pass silently.
TEST(RecordJsonTest, BadInputNamesTheProblem) {
  const std::string config = R"("config":{"template_name":"t","knobs":[{"name":"a","value":1}]})";
  const std::string good = R"({"workload":"w","target":"t","device_key":"d","job":"j","trial":1,)"
                           R"("config_hash":"ff","status":"OK",)" +
                           config;
  const std::string deep = std::string(1025, '[') + std::string(1025, ']');
  const std::string too_deep = "not valid JSON (The JSON document was too deep";
  const std::pair<std::string, std::string> cases[] = {
      {good + ",\"error\":\"bad \xFF byte\"}", "not valid JSON (The input is not valid UTF-8)"},
      {good + ",\"x\":\"cut \xC3\"}", "not valid JSON (The input is not valid UTF-8)"},
      {good + R"(,"x":)" + deep + "}", too_deep},
      {good + R"(,"costs":)" + deep + "}",
       "field 'costs' holds a value that is not a finite number"},
      {good + R"(,"x":)" + std::string(1'000'000, '[') + std::string(1'000'000, ']') + "}",
       too_deep},
      {good + "} x", "not valid JSON ("},
      {good, "not valid JSON (The JSON document has an improper structure"},
      {"\x01\x02garbage", "not valid JSON ("},
      {good + R"(,"x":[1,2,{"a":tru}]})", "not valid JSON ("},
      {good + R"(,"x":01})", "not valid JSON ("},
      {good + R"(,"trial":1e400})", "field 'trial' is not an integer"},
      {good + R"(,"trial":9223372036854775808})", "field 'trial' is not an integer"},
      {good + R"(,"gflops":-1e999})", "field 'gflops' is not finite"},
      {good + R"(,"device":{"cores":1e999}})", "device: field 'cores' is not an integer"},
      {good + R"(,"costs":[1,1e999]})", "field 'costs' holds a value that is not a finite number"},
      {good + R"(,"config":{"template_name":"t","knobs":[{"name":"a","value":1e999}]}})",
       "field 'config.knobs' holds an item that is not"},
  };
  for (const auto& [line, needle] : cases) {
    absl::StatusOr<Record> record = RecordFromJsonLine(line);
    ASSERT_FALSE(record.ok()) << line.substr(0, 200);
    EXPECT_EQ(record.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(record.status().message().find(needle), std::string::npos) << record.status() << "\n"
                                                                         << line.substr(0, 200);
  }
}

// Nesting within the limit is read; a number beyond double's range where no number is kept
// is valid JSON (as the hand-written reader had it).
TEST(RecordJsonTest, NestedAndOutOfRangeUnknownFieldsAreSkipped) {
  const std::string line = R"({"x":)" + std::string(1000, '[') + std::string(1000, ']') +
                           R"(,"y":[1e999,{"z":-1e999}],"workload":"w","target":"t",)"
                           R"("device_key":"d","job":"j","trial":4,"config_hash":"ff",)"
                           R"("status":"OK","config":{"template_name":"t",)"
                           R"("knobs":[{"name":"a","value":1}]}})";
  absl::StatusOr<Record> record = RecordFromJsonLine(line);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->trial, 4);
  EXPECT_EQ(record->config.knobs(0).name(), "a");
}

// A repeated key: the last value is the field's, and the first problem of a field is kept.
TEST(RecordJsonTest, RepeatedKeysTakeTheLastValueAndKeepTheFirstError) {
  const std::string rest = R"("target":"t","device_key":"d","job":"j","config_hash":"ff",)"
                           R"("status":"OK","config":{"template_name":"t","knobs":[]})";
  absl::StatusOr<Record> record =
      RecordFromJsonLine(R"({"workload":"a","workload":"b","trial":1,"trial":2,)" + rest + "}");
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->workload_key, "b");
  EXPECT_EQ(record->trial, 2);
  record = RecordFromJsonLine(R"({"workload":5,"workload":"w","trial":1,)" + rest + "}");
  ASSERT_FALSE(record.ok());
  EXPECT_EQ(record.status().message(), "field 'workload' is not a string");
}

// Through the import's reader: the error names the line, then the problem.
TEST(RecordJsonTest, ImportErrorNamesTheLine) {
  Record record = testing::MakeRecord("matmul:m=64,n=64,k=64", "job-1", 7, v1::OK, 2.5e-4);
  absl::StatusOr<std::string> line = RecordToJsonLine(record);
  ASSERT_TRUE(line.ok()) << line.status();
  std::string bad = *line;
  bad.insert(bad.find("job-1"), "\xFE");
  std::istringstream in(ExportHeaderLine("test", 3) + "\n" + *line + "\n\n" + bad + "\n");
  ASSERT_TRUE(ReadExportHeader(in).ok());
  ImportReader reader(in);
  absl::StatusOr<std::optional<Record>> first = reader.Next();
  ASSERT_TRUE(first.ok() && first->has_value()) << first.status();
  EXPECT_EQ((*first)->job, "job-1");
  absl::StatusOr<std::optional<Record>> second = reader.Next();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(second.status().message().find("line 4: not valid JSON ("), std::string::npos)
      << second.status();
  EXPECT_NE(second.status().message().find("not valid UTF-8"), std::string::npos)
      << second.status();
}

}  // namespace
}  // namespace fleettune::db::internal
