// Human-readable text of loop-nest IR, used by BuildOptions::dump_ir and in tests.
#ifndef FLEETTUNE_CODEGEN_INTERNAL_IR_PRINTER_H_
#define FLEETTUNE_CODEGEN_INTERNAL_IR_PRINTER_H_

#include <string>

#include "codegen/internal/ir.h"

namespace fleettune::codegen::ir {

std::string ToString(const Expr& e);
// One statement per line, two-space indentation per nesting level.
std::string ToString(const Stmt& s);

}  // namespace fleettune::codegen::ir

#endif  // FLEETTUNE_CODEGEN_INTERNAL_IR_PRINTER_H_
