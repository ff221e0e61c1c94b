#!/usr/bin/python3
"""Draws a training log's loss and accuracy against iterations and seconds as a PNG.

    tools/plot_training_log.py LOG OUT.png [--title TEXT]

Top row: against iterations; bottom row: against wall-clock seconds. Left:
training and test loss; right: test accuracy (every output named *accuracy*).
"""

import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")  # files only: no display needed
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from parse_log import parse_log  # noqa: E402


def _series(rows, x_name, y_name):
    points = [(row[x_name], row[y_name]) for row in rows
              if y_name in row and row.get(x_name, "") != ""]
    return [p[0] for p in points], [p[1] for p in points]


def plot(log_path, png_path, title=None):
    train, test = parse_log(log_path)
    if not train and not test:
        raise SystemExit("plot_training_log: %s has no net output lines" % log_path)
    accuracy_names = sorted({k for row in test for k in row if "accuracy" in k})
    figure, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    for row, (x_name, x_label) in enumerate([("NumIters", "iterations"),
                                             ("Seconds", "seconds")]):
        loss_axis, accuracy_axis = axes[row]
        for rows, label, style in [(train, "train loss", "-"), (test, "test loss", "o-")]:
            xs, ys = _series(rows, x_name, "loss")
            if xs:
                loss_axis.plot(xs, ys, style, label=label, markersize=3)
        loss_axis.set_xlabel(x_label)
        loss_axis.set_ylabel("loss")
        loss_axis.grid(True, alpha=0.3)
        if loss_axis.lines:
            loss_axis.legend()
        for name in accuracy_names:
            xs, ys = _series(test, x_name, name)
            accuracy_axis.plot(xs, ys, "o-", label="test " + name, markersize=3)
        accuracy_axis.set_xlabel(x_label)
        accuracy_axis.set_ylabel("accuracy")
        accuracy_axis.grid(True, alpha=0.3)
        if accuracy_axis.lines:
            accuracy_axis.legend()
    figure.suptitle(title or os.path.basename(log_path))
    figure.tight_layout()
    figure.savefig(png_path, dpi=80)
    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("logfile_path")
    parser.add_argument("png_path")
    parser.add_argument("--title", default=None)
    args = parser.parse_args(argv)
    if not os.path.isfile(args.logfile_path):
        sys.exit("plot_training_log: no such log file: %s" % args.logfile_path)
    plot(args.logfile_path, args.png_path, args.title)
    print("plot_training_log: wrote %s" % args.png_path)


if __name__ == "__main__":
    main()
