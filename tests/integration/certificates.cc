#include "tests/integration/certificates.h"

#include <gtest/gtest.h>

#include <fstream>
#include <vector>

#include "tests/integration/process.h"

namespace fleettune::testing {

bool MakeCertificates(const std::filesystem::path& dir, const std::string& name,
                      const CertificateOptions& options) {
  const std::string d = dir.string() + "/" + name;
  const std::vector<std::vector<std::string>> steps = {
      {"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
       d + "-ca.key", "-out", d + "-ca.pem", "-days", "1", "-subj", "/CN=" + name + " test CA"},
      {"/usr/bin/openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", d + ".key", "-out",
       d + ".csr", "-subj", "/CN=" + name + " tracker"},
      {"/usr/bin/openssl", "x509", "-req", "-in", d + ".csr", "-CA", d + "-ca.pem", "-CAkey",
       d + "-ca.key", "-CAcreateserial", "-out", d + ".pem", "-days", std::to_string(options.days),
       "-extfile", d + ".ext"},
  };
  std::ofstream(d + ".ext") << "subjectAltName=" << options.subject_alt_name << "\n";
  for (const auto& step : steps) {
    ProcessResult result = RunProcess(step, 60);
    if (result.exit_code != 0) {
      ADD_FAILURE() << step[1] << ": " << result.err;
      return false;
    }
  }
  return true;
}

}  // namespace fleettune::testing
