// ReadTokenFile / ReadToken: the one way the tracker, the tuner's commands and the board
// runtime read a token, with the same message for the same mistake.
#include "net/token_file.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace fleettune::net {
namespace {

class TokenFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "token_file_test_" + std::to_string(getpid());
    ASSERT_EQ(mkdir(dir_.c_str(), 0700), 0);
  }
  void TearDown() override {
    for (const std::string& file : files_) unlink(file.c_str());
    rmdir(dir_.c_str());
  }

  std::string Write(const std::string& name, const std::string& contents) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << contents;
    files_.push_back(path);
    return path;
  }

  std::string dir_;
  std::vector<std::string> files_;
};

TEST_F(TokenFileTest, TrimsWhitespaceAroundTheToken) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"s3cret", "s3cret"},          {"s3cret\n", "s3cret"},       {"s3cret\r\n", "s3cret"},
      {"  \ts3cret \n\n", "s3cret"}, {"two words\n", "two words"},  // inner whitespace is the
                                                                    // token's own
  };
  for (const auto& [contents, token] : cases) {
    SCOPED_TRACE(contents);
    absl::StatusOr<std::string> read = ReadTokenFile("--token-file", Write("t", contents));
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(*read, token);
  }
}

TEST_F(TokenFileTest, NamesTheFlagAndTheFileForEachMistake) {
  const std::string missing = dir_ + "/missing";
  const std::string empty = Write("empty", "");
  const std::string blank = Write("blank", " \n\t\n");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {missing, "cannot read --board-token-file '" + missing + "': No such file or directory"},
      {dir_, "cannot read --board-token-file '" + dir_ + "': Is a directory"},
      {empty, "--board-token-file '" + empty + "' is empty"},
      {blank, "--board-token-file '" + blank + "' is empty"},
  };
  for (const auto& [path, message] : cases) {
    SCOPED_TRACE(path);
    absl::StatusOr<std::string> read = ReadTokenFile("--board-token-file", path);
    ASSERT_FALSE(read.ok());
    EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(read.status().message(), message);
  }
}

TEST_F(TokenFileTest, FileThisUserMayNotReadGetsTheSystemsReason) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads every file";
  const std::string path = Write("locked", "s3cret\n");
  ASSERT_EQ(chmod(path.c_str(), 0), 0);
  absl::StatusOr<std::string> read = ReadTokenFile("--token-file", path);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().message(), "cannot read --token-file '" + path + "': Permission denied");
}

TEST_F(TokenFileTest, WithoutAFileTheVariableIsTheToken) {
  ASSERT_EQ(setenv("FLEETTUNE_TOKEN_FILE_TEST", " as-is\n", 1), 0);
  absl::StatusOr<std::string> token = ReadToken("--token-file", "", "FLEETTUNE_TOKEN_FILE_TEST");
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, " as-is\n");
  ASSERT_EQ(unsetenv("FLEETTUNE_TOKEN_FILE_TEST"), 0);
  token = ReadToken("--token-file", "", "FLEETTUNE_TOKEN_FILE_TEST");
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, "");
  // A file wins over the variable.
  ASSERT_EQ(setenv("FLEETTUNE_TOKEN_FILE_TEST", "from-env", 1), 0);
  token = ReadToken("--token-file", Write("t", "from-file\n"), "FLEETTUNE_TOKEN_FILE_TEST");
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, "from-file");
  unsetenv("FLEETTUNE_TOKEN_FILE_TEST");
}

TEST_F(TokenFileTest, PemFilesMustHoldWhatTheFlagNeedsAndComeBackWhole) {
  const std::string certificate = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  const std::string key = "-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n";
  const std::string ca = Write("ca.pem", certificate);
  const std::string key_file = Write("key.pem", key);
  EXPECT_EQ(ReadPemFile("--tls-ca", ca, PemContent::kCertificate).value(), certificate);
  EXPECT_EQ(ReadPemFile("--tls-key", key_file, PemContent::kPrivateKey).value(), key);

  absl::StatusOr<std::string> swapped = ReadPemFile("--tls-ca", key_file, PemContent::kCertificate);
  EXPECT_EQ(swapped.status().message(), "--tls-ca '" + key_file + "' holds no PEM certificate");
  swapped = ReadPemFile("--tls-key", ca, PemContent::kPrivateKey);
  EXPECT_EQ(swapped.status().message(), "--tls-key '" + ca + "' holds no PEM private key");
  const std::string missing = dir_ + "/missing.pem";
  EXPECT_EQ(ReadPemFile("--tls-cert", missing, PemContent::kCertificate).status().message(),
            "cannot read --tls-cert '" + missing + "': No such file or directory");
  EXPECT_EQ(ReadPemFile("--tls-ca", dir_, PemContent::kCertificate).status().message(),
            "cannot read --tls-ca '" + dir_ + "': Is a directory");
}

}  // namespace
}  // namespace fleettune::net
