#!/usr/bin/python3
"""Data-parallel LeNet training under mpirun, end to end.

Run by ctest:  mpi_training_test.py MPIRUN CORTADO_BINARY SOURCE_DIR PYTHON_DIR
On the Fashion-MNIST LMDBs that ./scripts/setup.sh makes, it checks that
- 2 ranks x batch 32 train as 1 process x batch 64 (100 iterations, SGD);
- a snapshot resumes with the same rank count and with a different one;
- SIGINT to mpirun leaves exactly one complete snapshot;
- a rank killed mid-run ends the job with mpirun naming that rank.
"""

import glob
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest

MPIRUN = CORTADO = SOURCE = None
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           CORTADO_NUM_THREADS="1", OMPI_MCA_rmaps_base_oversubscribe="1")


def lenet(batch):
    with open(os.path.join(SOURCE, "models/lenet/lenet_train_test.prototxt")) as f:
        net = f.read()
    net = net.replace("data/fashion_mnist/",
                      os.path.join(SOURCE, "data/fashion_mnist/"))
    return net.replace("batch_size: 64", "batch_size: %d" % batch, 1)


class MpiTrainingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        lmdb = os.path.join(SOURCE, "data/fashion_mnist/fashion_mnist_train_lmdb")
        if not os.path.isdir(lmdb):
            raise AssertionError("Fashion-MNIST LMDBs missing: run ./scripts/setup.sh --no-train")
        cls.tmp = tempfile.TemporaryDirectory(prefix="cortado_mpi_")
        cls.dir = cls.tmp.name
        for batch in (16, 32, 64):
            with open(os.path.join(cls.dir, "lenet_b%d.prototxt" % batch), "w") as f:
                f.write(lenet(batch))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def solver(self, name, batch, max_iter, snapshot=0, display=0):
        folder = os.path.join(self.dir, name)
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, "solver.prototxt")
        with open(path, "w") as f:
            f.write('net: "%s"\n' % os.path.join(self.dir, "lenet_b%d.prototxt" % batch))
            f.write("base_lr: 0.01\nmomentum: 0.9\nweight_decay: 0.0005\nlr_policy: \"inv\"\n"
                    "gamma: 0.0001\npower: 0.75\nrandom_seed: 7\n")
            f.write("display: %d\nmax_iter: %d\nsnapshot: %d\n" % (display, max_iter, snapshot))
            f.write('snapshot_prefix: "%s/lenet"\n' % folder)
        return path, folder

    def train(self, ranks, solver, *flags, env=ENV):
        command = [CORTADO, "train", "--solver=" + solver] + list(flags)
        if ranks > 0:
            command = [MPIRUN, "--allow-run-as-root", "--oversubscribe", "-np", str(ranks)] + command
        run = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             universal_newlines=True, timeout=600)
        self.assertEqual(run.returncode, 0, run.stdout[-3000:])
        return run.stdout

    def start_two_ranks(self, solver, until):
        """Starts a 2-rank run; returns the job and its log up to the line holding `until`."""
        job = subprocess.Popen([MPIRUN, "--allow-run-as-root", "--oversubscribe", "-np", "2",
                                CORTADO, "train", "--solver=" + solver], env=ENV,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               universal_newlines=True)
        log = ""
        for line in job.stdout:
            log += line
            if until in line:
                break
        return job, log

    def weights(self, caffemodel):
        import cortado
        net = cortado.Net(os.path.join(SOURCE, "models/lenet/deploy.prototxt"), cortado.TEST,
                          weights=caffemodel)
        return {name: [p.data.copy() for p in params] for name, params in net.params.items()}

    def largest_difference(self, a, b):
        """Largest |a - b| over all weights, relative to the largest |a|."""
        worst = scale = 0.0
        for name in a:
            for pa, pb in zip(a[name], b[name]):
                worst = max(worst, float(abs(pa - pb).max()))
                scale = max(scale, float(abs(pa).max()))
        return worst / scale

    def test_two_ranks_match_one_process_with_twice_the_batch(self):
        # Over the first steps the two differ only by float rounding (the
        # order of summing 64 gradients, against two sums of 32 averaged).
        one, one_dir = self.solver("one3", 64, 3)
        two, two_dir = self.solver("two3", 32, 3)
        self.train(0, one)
        self.train(2, two)
        early = self.largest_difference(self.weights(one_dir + "/lenet_iter_3.caffemodel"),
                                        self.weights(two_dir + "/lenet_iter_3.caffemodel"))
        self.assertLess(early, 1e-6)
        # Training amplifies rounding: after 100 iterations one process
        # already differs from itself run on 1 and on 2 threads. Two ranks
        # must stay within that envelope (or 5 % where the kernels happen to be
        # thread-count exact: oneDNN's convolution picks its blocking by batch
        # size, so 32 and 64 images round differently; measured 2.2 % at 100
        # while the 3-iteration check above stays under 1e-6).
        one, one_dir = self.solver("one", 64, 100)
        two, two_dir = self.solver("two", 32, 100)
        threads, threads_dir = self.solver("one_2_threads", 64, 100)
        self.train(0, one)
        log = self.train(2, two)
        self.train(0, threads, env=dict(ENV, CORTADO_NUM_THREADS="2"))
        self.assertIn("Data-parallel training on 2 replicas", log)
        self.assertEqual(len(re.findall(r"Optimization Done", log)), 1, "rank 0 alone logs")
        single = self.weights(one_dir + "/lenet_iter_100.caffemodel")
        parallel = self.weights(two_dir + "/lenet_iter_100.caffemodel")
        difference = self.largest_difference(single, parallel)
        envelope = self.largest_difference(single,
                                           self.weights(threads_dir + "/lenet_iter_100.caffemodel"))
        print("largest weight difference relative to the largest weight: 2 ranks x 32 vs "
              "1 x 64: %.3g after 3 iterations, %.3g after 100; 1 x 64 on 1 vs 2 threads "
              "after 100: %.3g" % (early, difference, envelope))
        self.assertLess(difference, max(envelope, 0.05))
        # Only rank 0 wrote: one model and one state, nothing temporary.
        self.assertEqual(sorted(os.listdir(two_dir)),
                         ["lenet_iter_100.caffemodel", "lenet_iter_100.solverstate",
                          "solver.prototxt"])

    def test_resume_with_the_same_and_a_different_rank_count(self):
        straight, straight_dir = self.solver("straight", 32, 60)
        self.train(2, straight)
        expected = self.weights(straight_dir + "/lenet_iter_60.caffemodel")
        first, first_dir = self.solver("first", 32, 30)
        self.train(2, first)
        state = first_dir + "/lenet_iter_30.solverstate"
        same, same_dir = self.solver("same", 32, 60)
        self.train(2, same, "--snapshot=" + state)
        resumed = self.weights(same_dir + "/lenet_iter_60.caffemodel")
        self.assertLess(self.largest_difference(expected, resumed), 1e-6)
        # 4 ranks x 16 read the same global batches of 64 as 2 x 32.
        other, other_dir = self.solver("other", 16, 60)
        self.train(4, other, "--snapshot=" + state)
        resumed = self.weights(other_dir + "/lenet_iter_60.caffemodel")
        self.assertLess(self.largest_difference(expected, resumed), 1e-4)

    def test_sigint_leaves_exactly_one_complete_snapshot(self):
        solver, folder = self.solver("sigint", 32, 1000000, display=20)
        job, log = self.start_two_ranks(solver, "Iteration 40,")
        job.send_signal(signal.SIGINT)
        log += job.communicate(timeout=120)[0]
        models = glob.glob(folder + "/*.caffemodel")
        states = glob.glob(folder + "/*.solverstate")
        self.assertEqual(len(models), 1, log[-3000:])
        self.assertEqual(len(states), 1, log[-3000:])
        self.assertEqual(glob.glob(folder + "/*.tmp"), [])
        self.assertIn("Optimization stopped early", log)
        # The snapshot is whole: it loads, and the run resumes from it.
        self.weights(models[0])
        iteration = int(re.search(r"_iter_(\d+)\.solverstate", states[0]).group(1))
        resume, _ = self.solver("sigint_resume", 32, iteration + 5)
        self.train(2, resume, "--snapshot=" + states[0])

    def test_a_killed_rank_ends_the_job_and_is_named(self):
        solver, _ = self.solver("killed", 32, 1000000, display=20)
        job, log = self.start_two_ranks(solver, "Iteration 20,")
        ranks = subprocess.run(["pgrep", "-P", str(job.pid)], stdout=subprocess.PIPE,
                               universal_newlines=True).stdout.split()
        self.assertEqual(len(ranks), 2, "expected mpirun to have two rank processes")
        # OpenMPI starts local ranks in order; the second child is rank 1.
        started = time.time()
        os.kill(int(sorted(ranks, key=int)[1]), signal.SIGKILL)
        log += job.communicate(timeout=120)[0]
        print("job ended %.1f s after rank 1 was killed; mpirun said: %s" % (
            time.time() - started,
            " ".join(l.strip() for l in log.splitlines() if "rank 1" in l)))
        self.assertNotEqual(job.returncode, 0)
        self.assertRegex(log, r"process rank 1 .*exited on signal 9")


if __name__ == "__main__":
    MPIRUN, CORTADO, SOURCE, python_dir = sys.argv[1:5]
    sys.path.insert(0, python_dir)
    unittest.main(argv=sys.argv[:1], verbosity=2)
