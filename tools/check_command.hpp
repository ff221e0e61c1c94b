// `cortado check`: builds a net without running it and reports its shapes,
// parameters, MACs and memory, and whether given weights fit it.
#ifndef CORTADO_TOOLS_CHECK_COMMAND_HPP_
#define CORTADO_TOOLS_CHECK_COMMAND_HPP_

#include <memory>
#include <string>

#include "caffe.pb.h"

namespace cortado {

class Net;

// Reads --model, applies --phase (default TEST), --level, --stage and
// --batch, replaces data layers with Input layers of their shape (a data
// set is neither needed nor opened), and builds the net. Activations are not
// allocated (blob storage is lazy); parameters are, and are filled.
// force_backward sets the net's force_backward (training memory of a deploy net).
std::unique_ptr<Net> BuildNetForCheck(const std::string& model, caffe::Phase phase, int batch,
                                      bool force_backward = false);

// The command: returns the exit status (non-zero when the weights do not
// fit); errors building the net are thrown as cortado::Error.
int RunCheckCommand();

}  // namespace cortado

#endif  // CORTADO_TOOLS_CHECK_COMMAND_HPP_
