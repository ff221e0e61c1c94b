#!/usr/bin/python3
"""parse_log and plot_training_log on a real log that `cortado train` wrote.

Run by ctest:  parse_log_test.py CORTADO_BINARY SOURCE_DIR
It trains LeNet on Fashion-MNIST for 40 iterations (the LMDBs that
./scripts/setup.sh makes), then checks the CSV tables and the PNG.
"""

import csv
import math
import os
import re
import subprocess
import sys
import tempfile
import unittest

CORTADO = None
SOURCE = None


class ParseLogTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        lmdb = os.path.join(SOURCE, "data/fashion_mnist/fashion_mnist_train_lmdb")
        if not os.path.isdir(lmdb):
            raise AssertionError("Fashion-MNIST LMDBs missing: run ./scripts/setup.sh --no-train")
        cls.dir = tempfile.TemporaryDirectory(prefix="cortado_parse_log_")
        with open(os.path.join(SOURCE, "models/lenet/lenet_solver.prototxt")) as f:
            solver = f.read()
        for field, value in [("max_iter", 40), ("display", 10), ("test_interval", 20),
                             ("test_iter", 2), ("snapshot", 0)]:
            solver = re.sub(r"\b%s: \d+" % field, "%s: %d" % (field, value), solver)
        solver = re.sub(r'snapshot_prefix: .*',
                        'snapshot_prefix: "%s/lenet"' % cls.dir.name, solver)
        solver_path = os.path.join(cls.dir.name, "solver.prototxt")
        with open(solver_path, "w") as f:
            f.write(solver)
        cls.log = os.path.join(cls.dir.name, "train.log")
        with open(cls.log, "w") as log:
            code = subprocess.call([CORTADO, "train", "--solver=" + solver_path],
                                   cwd=SOURCE, stdout=log, stderr=subprocess.STDOUT)
        if code != 0:
            with open(cls.log) as log:
                raise AssertionError("cortado train failed:\n" + log.read())

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()

    def run_tool(self, *args):
        return subprocess.run([sys.executable] + list(args), capture_output=True, text=True)

    def read_csv(self, path):
        with open(path, newline="") as f:
            return list(csv.DictReader(f))

    def test_csv_tables_follow_the_log(self):
        out = os.path.join(self.dir.name, "csv")
        result = self.run_tool(os.path.join(SOURCE, "tools/parse_log.py"), self.log, out)
        self.assertEqual(result.returncode, 0, result.stderr)
        train = self.read_csv(os.path.join(out, "train.log.train"))
        test = self.read_csv(os.path.join(out, "train.log.test"))
        # The run's final "Iteration 40, loss" line has no per-output lines,
        # so (as with Caffe's parser) the last train row is iteration 30.
        self.assertEqual([int(r["NumIters"]) for r in train], [0, 10, 20, 30])
        self.assertEqual([int(r["NumIters"]) for r in test], [0, 20, 40])
        self.assertEqual(list(train[0].keys()), ["NumIters", "Seconds", "LearningRate", "loss"])
        self.assertEqual(list(test[0].keys()),
                         ["NumIters", "Seconds", "LearningRate", "accuracy", "loss"])
        # The lr column is the solver's "inv" schedule: 0.01 * (1 + 1e-4 * it)^-0.75.
        for row in train[:4]:
            expected = 0.01 * (1 + 0.0001 * int(row["NumIters"])) ** -0.75
            self.assertAlmostEqual(float(row["LearningRate"]), expected, delta=1e-7)
        seconds = [float(r["Seconds"]) for r in train]
        self.assertEqual(seconds, sorted(seconds))
        # Values are the ones the log printed, e.g. the last test accuracy.
        with open(self.log) as f:
            accuracies = re.findall(r"Test net output #0: accuracy = (\S+)", f.read())
        self.assertEqual(float(test[-1]["accuracy"]), float(accuracies[-1]))
        self.assertTrue(all(math.isfinite(float(r["loss"])) for r in train))
        self.assertLess(float(train[-1]["loss"]), float(train[0]["loss"]))

    def test_plot_writes_a_png(self):
        png = os.path.join(self.dir.name, "plot.png")
        result = self.run_tool(os.path.join(SOURCE, "tools/plot_training_log.py"), self.log, png)
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(png, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        self.assertGreater(os.path.getsize(png), 5000)

    def test_missing_or_empty_logs_are_clear_errors(self):
        tool = os.path.join(SOURCE, "tools/parse_log.py")
        result = self.run_tool(tool, os.path.join(self.dir.name, "nope.log"), self.dir.name)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("no such log file", result.stderr)
        empty = os.path.join(self.dir.name, "empty.log")
        open(empty, "w").close()
        result = self.run_tool(tool, empty, self.dir.name)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("has no 'Train/Test net output' lines", result.stderr)


if __name__ == "__main__":
    CORTADO, SOURCE = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
