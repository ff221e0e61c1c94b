#!/usr/bin/python3
"""Turns a `cortado train` (or Caffe) log into CSV tables of training and test outputs.

    tools/parse_log.py LOG OUTPUT_DIR [--delimiter ,]

writes OUTPUT_DIR/<log name>.train and OUTPUT_DIR/<log name>.test, one row per
iteration with NumIters, Seconds (since the first log line), LearningRate and
one column per net output (loss, accuracy, ...), as Caffe's parse_log.py does.
"""

import argparse
import csv
import datetime
import os
import re
import sys

# glog prefixes: "I20261126 00:42:25.536727 ..." (newer glog) or "I1126 00:42:25.536727 ...".
_TIME = re.compile(r"^[IWEF](\d{4})?(\d{2})(\d{2}) (\d{2}):(\d{2}):(\d{2}(?:\.\d+)?)")
_ITERATION = re.compile(r"\bIteration (\d+)")
_RATE = re.compile(r"\bIteration (\d+), lr = (\S+)")
_OUTPUT = re.compile(r"(Train|Test) net output #(\d+): (\S+) = (\S+)")


def _log_time(line, year_hint):
    match = _TIME.match(line)
    if not match:
        return None
    year = int(match.group(1)) if match.group(1) else year_hint
    seconds = float(match.group(6))
    whole = int(seconds)
    return datetime.datetime(year, int(match.group(2)), int(match.group(3)),
                             int(match.group(4)), int(match.group(5)), whole,
                             int(round((seconds - whole) * 1e6)) % 1000000)


def parse_log(path):
    """Returns (train_rows, test_rows): lists of dicts keyed by column name."""
    year_hint = datetime.date.today().year
    start = None
    previous = None
    iteration = None
    rates = {}  # iteration -> learning rate
    rows = {"Train": {}, "Test": {}}  # phase -> iteration -> row
    with open(path, errors="replace") as log:
        for line in log:
            when = _log_time(line, year_hint)
            if when is not None:
                # A log that runs past midnight of 31 December without a year.
                if previous is not None and when < previous - datetime.timedelta(days=1):
                    when = when.replace(year=when.year + 1)
                previous = when
                if start is None:
                    start = when
            rate = _RATE.search(line)
            if rate:
                rates[int(rate.group(1))] = float(rate.group(2))
            it = _ITERATION.search(line)
            if it:
                iteration = int(it.group(1))
            output = _OUTPUT.search(line)
            if output and iteration is not None:
                phase, name, value = output.group(1), output.group(3), output.group(4)
                row = rows[phase].setdefault(iteration, {"NumIters": iteration})
                if "Seconds" not in row:
                    row["Seconds"] = (when - start).total_seconds() if when and start else ""
                row[name] = float(value)
    known = sorted(rates)
    for phase in rows.values():
        for it, row in phase.items():
            # The lr line of an iteration follows its outputs; tests at an
            # iteration run before it, so they take that same iteration's rate.
            if it in rates:
                row["LearningRate"] = rates[it]
            else:
                earlier = [k for k in known if k <= it]
                row["LearningRate"] = rates[earlier[-1]] if earlier else ""
    return ([rows["Train"][k] for k in sorted(rows["Train"])],
            [rows["Test"][k] for k in sorted(rows["Test"])])


def write_csv(rows, path, delimiter=","):
    names = []
    for row in rows:
        for key in row:
            if key not in ("NumIters", "Seconds", "LearningRate") and key not in names:
                names.append(key)
    columns = ["NumIters", "Seconds", "LearningRate"] + names
    with open(path, "w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=columns, delimiter=delimiter, restval="")
        writer.writeheader()
        writer.writerows(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("logfile_path", help="the training log")
    parser.add_argument("output_dir", help="where <log name>.train and .test go")
    parser.add_argument("--delimiter", default=",", help="column separator (default ',')")
    args = parser.parse_args(argv)
    if not os.path.isfile(args.logfile_path):
        sys.exit("parse_log: no such log file: %s" % args.logfile_path)
    os.makedirs(args.output_dir, exist_ok=True)
    train, test = parse_log(args.logfile_path)
    if not train and not test:
        sys.exit("parse_log: %s has no 'Train/Test net output' lines" % args.logfile_path)
    base = os.path.join(args.output_dir, os.path.basename(args.logfile_path))
    write_csv(train, base + ".train", args.delimiter)
    write_csv(test, base + ".test", args.delimiter)
    print("parse_log: %d train rows -> %s.train, %d test rows -> %s.test"
          % (len(train), base, len(test), base))


if __name__ == "__main__":
    main()
