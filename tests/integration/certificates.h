// Test certificates made with the openssl tool: a CA and a tracker certificate it signs, with
// the names and validity the test asks for (the TLS tests need wrong names and expired ones).
#ifndef FLEETTUNE_TESTS_INTEGRATION_CERTIFICATES_H_
#define FLEETTUNE_TESTS_INTEGRATION_CERTIFICATES_H_

#include <filesystem>
#include <string>

namespace fleettune::testing {

struct CertificateOptions {
  // The certificate's subjectAltName: the names a client may dial it by.
  std::string subject_alt_name = "IP:127.0.0.1,DNS:localhost";
  // Days of validity from now; negative makes a certificate that has already expired.
  int days = 1;
};

// Writes <dir>/<name>-ca.pem (a fresh CA), <dir>/<name>.pem and <dir>/<name>.key (a certificate
// that CA signed, with `options`). False, with a test failure naming the openssl step, when one
// fails.
bool MakeCertificates(const std::filesystem::path& dir, const std::string& name,
                      const CertificateOptions& options = {});

}  // namespace fleettune::testing

#endif  // FLEETTUNE_TESTS_INTEGRATION_CERTIFICATES_H_
