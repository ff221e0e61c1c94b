// `cortado deploy`: writes a lean inference net and its weights from a
// train_val or deploy net, and reports what that saved.
#ifndef CORTADO_TOOLS_DEPLOY_COMMAND_HPP_
#define CORTADO_TOOLS_DEPLOY_COMMAND_HPP_

namespace cortado {

// Reads --model and --weights, writes --out_model and --out_weights, then
// checks the written net against the original on one random batch and
// prints the memory (from the check analysis) and forward time each needs.
// Errors are thrown as cortado::Error.
int RunDeployCommand();

}  // namespace cortado

#endif  // CORTADO_TOOLS_DEPLOY_COMMAND_HPP_
