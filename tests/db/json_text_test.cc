// The hand-written JSON reader/writer behind the export format and the config/costs columns,
// and one record line both ways (db/internal/json_text.h, db/internal/record_json.h).
#include "db/internal/json_text.h"

#include <limits>
#include <string>
#include <vector>

#include "db/internal/record_json.h"
#include "gtest/gtest.h"
#include "tests/db/test_util.h"

namespace fleettune::db::internal {
namespace {

// Reads `text` as an array of strings; the empty vector plus failed() on a syntax error.
std::vector<std::string> Strings(const std::string& text, bool* failed) {
  JsonReader reader(text);
  std::vector<std::string> out;
  if (reader.BeginArray()) {
    std::string value;
    while (reader.NextItem()) {
      if (!reader.ReadString(&value)) break;
      out.push_back(value);
    }
  }
  *failed = reader.failed() || !reader.AtEnd();
  return out;
}

TEST(JsonReaderTest, DecodesEscapesAndSurrogatePairs) {
  bool failed = true;
  EXPECT_EQ(Strings(R"(["a\"b\\c\/d", "\n\t\r\b\f", "\u00e9\u20AC", "\ud83d\ude00", ""])", &failed),
            (std::vector<std::string>{"a\"b\\c/d", "\n\t\r\b\f", "\xC3\xA9\xE2\x82\xAC",
                                      "\xF0\x9F\x98\x80", ""}));
  EXPECT_FALSE(failed);
}

TEST(JsonReaderTest, RejectsMalformedText) {
  for (const char* text : {R"(["a",])", R"(["a" "b"])", R"(["abc)", "[\"a\x01\"]", R"(["\x"])",
                           R"(["\ud83d"])", R"(["\ude00"])", R"(["a"] x)", R"([)", ""}) {
    bool failed = false;
    Strings(text, &failed);
    EXPECT_TRUE(failed) << text;
  }
}

TEST(JsonReaderTest, NumbersAreTypedAndChecked) {
  JsonReader reader(R"({"i":-42,"big":9223372036854775807,"f":1.5,"e":1e-300,"huge":1e999,)"
                    R"("z":0,"nested":{"a":[1,{"b":null}],"t":true,"f":false}})");
  ASSERT_TRUE(reader.BeginObject());
  std::string key;
  int64_t i = 0;
  double d = 0;
  ASSERT_TRUE(reader.NextMember(&key));
  EXPECT_EQ(key, "i");
  ASSERT_TRUE(reader.ReadInt(&i));
  EXPECT_EQ(i, -42);
  ASSERT_TRUE(reader.NextMember(&key));
  ASSERT_TRUE(reader.ReadInt(&i));
  EXPECT_EQ(i, std::numeric_limits<int64_t>::max());
  ASSERT_TRUE(reader.NextMember(&key));
  EXPECT_FALSE(reader.ReadInt(&i));  // 1.5 is not an integer: a mismatch, not a syntax error
  EXPECT_FALSE(reader.failed());
  ASSERT_TRUE(reader.ReadDouble(&d));
  EXPECT_EQ(d, 1.5);
  ASSERT_TRUE(reader.NextMember(&key));
  ASSERT_TRUE(reader.ReadDouble(&d));
  EXPECT_EQ(d, 1e-300);
  ASSERT_TRUE(reader.NextMember(&key));
  EXPECT_FALSE(reader.ReadDouble(&d));  // out of range
  EXPECT_FALSE(reader.failed());
  ASSERT_TRUE(reader.SkipValue());
  ASSERT_TRUE(reader.NextMember(&key));
  ASSERT_TRUE(reader.ReadInt(&i));
  EXPECT_EQ(i, 0);
  ASSERT_TRUE(reader.NextMember(&key));
  EXPECT_EQ(key, "nested");
  ASSERT_TRUE(reader.SkipValue());
  EXPECT_FALSE(reader.NextMember(&key));
  EXPECT_TRUE(reader.AtEnd());
}

TEST(JsonReaderTest, MalformedNumbersFail) {
  for (const char* text : {"[01]", "[1.]", "[-]", "[1e]", "[.5]", "[+1]", "[1.5.2]"}) {
    JsonReader reader(text);
    ASSERT_TRUE(reader.BeginArray());
    while (reader.NextItem() && reader.SkipValue()) {
    }
    EXPECT_TRUE(reader.failed() || !reader.AtEnd()) << text;
  }
}

TEST(JsonWriterTest, StringsEscapeWhatJsonRequires) {
  std::string out;
  AppendJsonString("q\"b\\n\n\x01\xC3\xA9", &out);
  EXPECT_EQ(out, "\"q\\\"b\\\\n\\n\\u0001\xC3\xA9\"");
  bool failed = true;
  EXPECT_EQ(Strings("[" + out + "]", &failed), (std::vector<std::string>{"q\"b\\n\n\x01\xC3\xA9"}));
  EXPECT_FALSE(failed);
}

TEST(JsonWriterTest, DoublesRoundTripInShortestForm) {
  const double values[] = {0.1,  0.30000000000000004,    1e-300,    5e-324, 2.5e-5, 1.0,
                           -3.0, 1.7976931348623157e308, 123456.789};
  for (double value : values) {
    std::string out;
    AppendJsonDouble(value, &out);
    JsonReader reader(out);
    double back = 0;
    ASSERT_TRUE(reader.ReadDouble(&back)) << out;
    EXPECT_EQ(back, value) << out;
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
}

// A bulk import parses into recycled records: fields a line leaves out must come back as
// defaults, not as the previous line's values.
TEST(RecordJsonTest, ParsingIntoAUsedRecordLeavesNothingOfTheOldOne) {
  Record full = testing::MakeRecord("matmul:m=64,n=64,k=64", "job-1", 7, v1::OK, 2.5e-4);
  full.error = "old error";
  full.llvm_version = "14.0.6";
  full.device = {"Raspberry Pi 4", "Cortex-A72", 4, "0.2.0"};
  full.schema_version = 2;
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

}  // namespace
}  // namespace fleettune::db::internal
