"""A pycaffe-style training script run under mpirun by test_data_parallel.py:
nothing MPI-specific in it, yet every rank trains one replica. Each rank
writes what it ended with to OUT_DIR/rank<N>.json."""
import hashlib
import json
import os
import sys

import caffe

NET = """
name: "regression"
layer { name: "data" type: "DummyData" top: "data" top: "target"
        dummy_data_param { shape { dim: 8 dim: 5 } shape { dim: 8 dim: 2 }
                           data_filler { type: "gaussian" std: 1 }
                           data_filler { type: "gaussian" std: 1 } } }
layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip"
        inner_product_param { num_output: 2 weight_filler { type: "xavier" } } }
layer { name: "loss" type: "EuclideanLoss" bottom: "ip" bottom: "target" top: "loss" }
"""

out_dir = sys.argv[1]
rank = caffe.solver_rank()
net_path = os.path.join(out_dir, 'net%d.prototxt' % rank)
solver_path = os.path.join(out_dir, 'solver%d.prototxt' % rank)
with open(net_path, 'w') as f:
    f.write(NET)
with open(solver_path, 'w') as f:
    f.write('net: "%s"\nbase_lr: 0.05\nmomentum: 0.9\nlr_policy: "fixed"\nmax_iter: 20\n'
            % net_path)
caffe.set_mode_cpu()
solver = caffe.SGDSolver(solver_path)
solver.step(20)
digest = hashlib.sha1()
for name, params in solver.net.params.items():
    for p in params:
        digest.update(p.data.tobytes())
with open(os.path.join(out_dir, 'rank%d.json' % rank), 'w') as f:
    json.dump({'rank': rank, 'count': caffe.solver_count(), 'iter': solver.iter,
               'params': digest.hexdigest(),
               'first_input': float(solver.net.blobs['data'].data.flat[0])}, f)
