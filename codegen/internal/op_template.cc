#include "codegen/internal/op_template.h"

#include "codegen/internal/matmul_template.h"

namespace fleettune::codegen {

const OpTemplate* FindTemplate(std::string_view op) {
  static const MatmulTemplate* matmul = new MatmulTemplate();
  if (op == "matmul") return matmul;
  return nullptr;
}

}  // namespace fleettune::codegen
