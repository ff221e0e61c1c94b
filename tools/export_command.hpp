// `cortado export`: writes a model's TEST net as an ONNX file.
#ifndef CORTADO_TOOLS_EXPORT_COMMAND_HPP_
#define CORTADO_TOOLS_EXPORT_COMMAND_HPP_

namespace cortado {

// Reads --model (and --weights, --batch, --level, --stage), writes --onnx.
// Returns the exit status; throws cortado::Error on bad input.
int ExportCommand();

}  // namespace cortado

#endif  // CORTADO_TOOLS_EXPORT_COMMAND_HPP_
