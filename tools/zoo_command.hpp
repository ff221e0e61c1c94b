// `cortado zoo ...`: hands the model-zoo command line to the Python zoo module.
#ifndef CORTADO_TOOLS_ZOO_COMMAND_HPP_
#define CORTADO_TOOLS_ZOO_COMMAND_HPP_

namespace cortado {

// Replaces the process with `python3 -m cortado.zoo <args after "zoo">`, so the
// exit status is the zoo's. Returns only on failure (with a message printed).
int RunZooCommand(int argc, char** argv);

}  // namespace cortado

#endif  // CORTADO_TOOLS_ZOO_COMMAND_HPP_
