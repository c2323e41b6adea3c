"""The command line against hostile input: every failure is one ``fastmlp: error:`` line and its exit status.

The promise (README, "Command line"): exit status 0 on success, 1 on bad data or files, 2 on usage errors, and each
error is one line on stderr, ``fastmlp: error: ...``, never a traceback. Class labels round-trip exactly.
"""

import os
import re
import stat
import subprocess
import sys

import numpy as np
import pytest

import fastmlp as fm
from fastmlp.cli import main
from fastmlp.io import load_with_metadata, save_model

USAGE_HINT = re.compile(r" \(see: fastmlp( \w+)? --help\)$")


def run(argv):
    """``main(argv)``'s exit status, also when it exits through ``SystemExit``."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def the_error_line(captured):
    """The one line of stderr, which must be a ``fastmlp: error:`` line; fails on anything else there."""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("fastmlp: error: "), captured.err
    return lines[0]


def write_csv(path, text):
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)


@pytest.fixture
def files(tmp_path, monkeypatch):
    """A working directory with small, valid data and a model for it."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    np.save(tmp_path / "X.npy", X)
    rows = "".join(f"{a!r},{b!r},{c!r},{i % 2}\n" for i, (a, b, c) in enumerate(X.tolist()))
    write_csv(tmp_path / "d.csv", "a,b,c,t\n" + rows)
    save_model(fm.Model([3, 4, 2], output="softmax", seed=0), tmp_path / "m.npz",
               metadata={"feature_names": ["a", "b", "c"], "classes": [0, 1]})  # fmt: skip
    monkeypatch.chdir(tmp_path)
    return tmp_path


# ---------------------------------------------------------------------------------------------------------------
# 1. argparse's usage errors: one line, exit status 2


ARGPARSE_ERRORS = [
    (["train", "d.csv", "--target", "t"], "train", "the following arguments are required: --out"),
    (["train", "d.csv", "--target", "t", "--out", "o.npz", "--epochs", "0"], "train", "argument --epochs: expected"),
    (["train", "d.csv", "--target", "t", "--out", "o.npz", "--bogus"], "train", "unrecognized arguments: --bogus"),
    (["predict", "m.npz", "--out", "p.npy"], "predict", "the following arguments are required: INPUT"),
    (["predict", "m.npz", "d.csv", "--out", "p.npy", "--chunk-size", "0"], "predict", "argument --chunk-size"),
    (["info", "m.npz", "extra"], "info", "unrecognized arguments: extra"),
    (["demo", "--epochs", "x"], "demo", "argument --epochs: expected an integer"),
    (["nonsense"], None, "invalid choice: 'nonsense'"),
    (["--bogus"], None, "unrecognized arguments: --bogus"),
]


@pytest.mark.parametrize("argv, command, match", ARGPARSE_ERRORS, ids=[" ".join(a) for a, _, _ in ARGPARSE_ERRORS])
def test_argparse_usage_errors_are_one_line(files, capsys, argv, command, match):
    assert run(argv) == 2
    captured = capsys.readouterr()
    line = the_error_line(captured)
    assert match in line, line
    assert line.endswith(f"(see: fastmlp {command} --help)" if command else "(see: fastmlp --help)"), line
    assert captured.out == ""


def test_no_command_prints_help_and_one_error_line(capsys):
    assert run([]) == 2
    captured = capsys.readouterr()
    assert captured.out.startswith("usage: fastmlp")
    assert "a command is required" in the_error_line(captured)


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["predict", "-h"], ["info", "--help"]])
def test_help_still_prints_help_and_exits_0(capsys, argv):
    assert run(argv) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("usage: fastmlp") and captured.err == ""


def test_a_usage_error_in_a_real_process(files):
    result = subprocess.run(
        [sys.executable, "-m", "fastmlp", "train", "d.csv", "--target", "t", "--epochs", "0", "--out", "o.npz"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr == (
        "fastmlp: error: argument --epochs: expected an integer in [1, 1000000000], got '0' "
        "(see: fastmlp train --help)\n"
    )
    assert not (files / "o.npz").exists()


# ---------------------------------------------------------------------------------------------------------------
# 2. Oversized CSV cells and rows


def test_a_csv_cell_over_the_field_limit_is_one_error_line(files, capsys):
    write_csv("big.csv", "a,b,c,t\n1,2,3,0\n1," + "1" * 140_000 + ",3,1\n")
    assert run(["train", "big.csv", "--target", "t", "--out", "o.npz", "--quiet"]) == 1
    line = the_error_line(capsys.readouterr())
    assert re.search(r"big\.csv, line 3: a field of more than [\d,]+ characters", line), line
    assert run(["predict", "m.npz", "big.csv", "--out", "p.csv", "--quiet"]) == 1
    line = the_error_line(capsys.readouterr())
    assert re.search(r"big\.csv, line 3: a field of more than", line), line
    assert sorted(os.listdir()) == ["X.npy", "big.csv", "d.csv", "m.npz"]


def test_an_oversized_header_cell_is_one_error_line(files, capsys):
    write_csv("big.csv", "a,b," + "c" * 140_000 + ",t\n1,2,3,0\n")
    assert run(["train", "big.csv", "--target", "t", "--out", "o.npz", "--quiet"]) == 1
    assert re.search(r"big\.csv, line 1: a field of more than", the_error_line(capsys.readouterr()))


def test_a_runaway_csv_row_is_refused_before_it_fills_memory(files, capsys, monkeypatch):
    """A row longer than the limit (a file with no line breaks, say) is refused, not read whole."""
    import fastmlp.cli.data

    monkeypatch.setattr(fastmlp.cli.data, "MAX_ROW_CHARS", 1000)
    write_csv("wide.csv", "a,b,c,t\n1,2,3,0\n" + "1," * 600 + "1\n")
    assert run(["predict", "m.npz", "wide.csv", "--out", "p.csv", "--quiet"]) == 1
    assert re.search(r"wide\.csv, line 3: a row of more than 1,000 characters", the_error_line(capsys.readouterr()))


def test_csv_that_is_not_utf8_names_the_file(files, capsys):
    with open("latin1.csv", "wb") as f:
        f.write("a,b,c,t\n1,2,3,0\n1,2,3,\xe9\n".encode("latin-1"))
    assert run(["train", "latin1.csv", "--target", "t", "--out", "o.npz", "--quiet"]) == 1
    assert re.search(r"latin1\.csv is not UTF-8 text", the_error_line(capsys.readouterr()))


# ---------------------------------------------------------------------------------------------------------------
# 3. Numbers too large for the machine


@pytest.mark.parametrize("layers", ["99999999999999999999", "64,3000000000"])
def test_a_huge_layer_width_is_a_usage_error(files, capsys, layers):
    assert run(["train", "d.csv", "--target", "t", "--out", "o.npz", "--layers", layers, "--quiet"]) == 2
    assert "argument --layers: " in the_error_line(capsys.readouterr())


def test_layers_too_large_for_a_model_file_are_refused_before_allocating(files, capsys):
    # 3 * 50000 + 50000 * 50000 + ...: over the 2**31 parameters a model file holds (10 GB of float32).
    assert run(["train", "d.csv", "--target", "t", "--out", "o.npz", "--layers", "50000,50000", "--quiet"]) == 2
    line = the_error_line(capsys.readouterr())
    assert "--layers: widths 50000,50000 give at least 2,500,200,001 parameters; a model file holds at most " in line
    assert "2,147,483,648" in line


def test_layers_too_large_for_the_number_of_features_are_refused_before_allocating(files, capsys):
    np.save("wide.npy", np.zeros((2, 100_001)))
    argv = ["train", "wide.npy", "--target", "-1", "--out", "o.npz", "--layers", "30000", "--quiet"]
    assert run(argv) == 2
    line = the_error_line(capsys.readouterr())
    assert re.search(r"--layers 30000 with 100000 features and 1 output give 3,000,060,001 parameters", line), line


def test_labels_beyond_int64_in_a_model_file_are_one_error_line(files, capsys):
    save_model(fm.Model([3, 4, 2], output="softmax", seed=0), "big_classes.npz", metadata={"classes": [0, 2**70]})
    assert run(["predict", "big_classes.npz", "X.npy", "--out", "p.npy", "--labels", "--quiet"]) == 1
    line = the_error_line(capsys.readouterr())
    assert "big_classes.npz: metadata 'classes' must be a list of 2 integers within the int64 range" in line, line


def test_a_standardisation_beyond_float64_in_a_model_file_is_one_error_line(files, capsys):
    metadata = {"input_mean": [10**400, 0, 0], "input_scale": [1, 1, 1]}
    save_model(fm.Model([3, 4, 1], seed=0), "huge_mean.npz", metadata=metadata)
    assert run(["predict", "huge_mean.npz", "X.npy", "--out", "p.npy", "--quiet"]) == 1
    line = the_error_line(capsys.readouterr())
    assert "huge_mean.npz: metadata 'input_mean/input_scale' must both be lists of float64 numbers" in line, line


# ---------------------------------------------------------------------------------------------------------------
# 4. Class labels round-trip exactly


def _two_class_rows(labels, n=60, seed=0):
    """Rows ``x0,x1,label`` where the label follows the sign of x0: a rule an MLP learns at once."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    chosen = [labels[int(x[0] > 0)] for x in X]
    return X, chosen


@pytest.mark.parametrize("labels", [(2**53 + 1, 2**53 + 3), (-(2**63), 2**63 - 1), (9007199254740993, 7)])
def test_integer_csv_labels_round_trip_exactly(files, capsys, labels):
    X, chosen = _two_class_rows(labels)
    rows = "".join(f"{a!r},{b!r},{c}\n" for (a, b), c in zip(X.tolist(), chosen, strict=True))
    write_csv("big_labels.csv", "x0,x1,label\n" + rows)
    argv = ["train", "big_labels.csv", "--target", "label", "--out", "o.npz", "--epochs", "30", "--quiet"]
    assert run(argv) == 0, capsys.readouterr().err
    model, header = load_with_metadata("o.npz")
    assert model.output == "sigmoid" and header.arrays["classes"].tolist() == sorted(labels)

    assert run(["predict", "o.npz", "big_labels.csv", "--out", "labels.csv", "--labels", "--quiet"]) == 0
    with open("labels.csv") as f:
        assert f.readline() == "label\n"
        written = [int(line) for line in f]  # the text itself: no float could hold these
    assert set(written) <= set(labels) and np.mean(np.array(written, dtype=object) == np.array(chosen)) > 0.9
    assert run(["predict", "o.npz", "big_labels.csv", "--out", "labels.npy", "--labels", "--quiet"]) == 0
    assert np.load("labels.npy").tolist() == written
    assert capsys.readouterr().err == ""


def test_int64_npz_labels_round_trip_exactly(files, capsys):
    labels = np.array([2**62 + 1, 2**62 + 2, 2**62 + 3], dtype=np.int64)  # equal as float64
    rng = np.random.default_rng(1)
    X = rng.normal(size=(90, 2))
    y = labels[np.digitize(X[:, 0], [-0.4, 0.4])]
    np.savez("big.npz", X=X, y=y)
    assert run(["train", "big.npz", "--out", "o.npz", "--epochs", "40", "--quiet"]) == 0, capsys.readouterr().err
    model, header = load_with_metadata("o.npz")
    assert model.output == "softmax" and header.arrays["classes"].tolist() == labels.tolist()
    np.save("X2.npy", X)
    assert run(["predict", "o.npz", "X2.npy", "--out", "labels.npy", "--labels", "--quiet"]) == 0
    predicted = np.load("labels.npy")
    assert predicted.dtype == np.int64 and set(predicted.tolist()) <= set(labels.tolist())
    assert np.mean(predicted == y) > 0.8


def test_integer_and_integral_float_labels_still_mix_below_2_53(files, capsys):
    write_csv("mixed.csv", "x,label\n" + "".join(f"{i / 10},{('3', '4.0', '5e0')[i % 3]}\n" for i in range(30)))
    assert run(["train", "mixed.csv", "--target", "label", "--out", "o.npz", "--epochs", "1", "--quiet"]) == 0
    assert load_with_metadata("o.npz")[1].arrays["classes"].tolist() == [3, 4, 5]


LABELS_THAT_CANNOT_BE_EXACT = [
    # An integer beyond int64, written as an integer.
    ("x,label\n1,0\n2,9223372036854775808\n3,0\n", "9223372036854775808", "int64"),
    # 2**53 + 1 written in floating-point notation reads as 2**53: it cannot be told from its neighbour.
    ("x,label\n1,0\n2,9007199254740993.0\n3,0\n", "9007199254740992", "2\\*\\*53"),
    ("x,label\n1,0\n2,1e17\n3,0\n", "1e\\+17", "2\\*\\*53"),
]


@pytest.mark.parametrize("content, label, why", LABELS_THAT_CANNOT_BE_EXACT, ids=["2**63", "2**53+1.0", "1e17"])
def test_class_labels_that_cannot_be_exact_are_refused_at_train_time(files, capsys, content, label, why):
    write_csv("bad_labels.csv", content)
    assert run(["train", "bad_labels.csv", "--target", "label", "--out", "o.npz", "--quiet"]) == 1
    line = the_error_line(capsys.readouterr())
    assert re.search(f"class label.*{label}", line) and re.search(why, line), line
    assert re.search("--output identity", line), line  # the way to regress on them instead
    assert not os.path.exists("o.npz")
    # As a regression target they are fine.
    assert run(["train", "bad_labels.csv", "--target", "label", "--output", "identity", "--out", "o.npz",
                "--epochs", "1", "--quiet"]) == 0  # fmt: skip


@pytest.mark.parametrize(
    "y, why",
    [
        (np.array([0, 2**64 - 1] * 10, dtype=np.uint64), "int64"),
        (np.array([0.0, 2.0**60] * 10), "2\\*\\*53"),
    ],
    ids=["uint64", "float64"],
)
def test_npz_class_labels_that_cannot_be_exact_are_refused(files, capsys, y, why):
    np.savez("bad.npz", X=np.arange(40.0).reshape(20, 2), y=y)
    assert run(["train", "bad.npz", "--out", "o.npz", "--quiet"]) == 1
    line = the_error_line(capsys.readouterr())
    assert re.search("class label", line) and re.search(why, line), line


# ---------------------------------------------------------------------------------------------------------------
# 5. Hostile files and options: one error line each, with the documented exit status


@pytest.fixture
def hostile(files):
    """``files`` plus files that are wrong in every way the commands must report."""
    write_csv("empty.csv", "")
    write_csv("header.csv", "a,b,c,t\n")
    write_csv("text.csv", "a,b,c,t\n1,2,3,0\n1,x,3,1\n")
    write_csv("nan.csv", "a,b,c,t\n1,2,3,0\n1,nan,3,1\n")
    write_csv("nan_target.csv", "a,b,c,t\n1,2,3,NaN\n1,2,3,1\n")
    write_csv("inf.csv", "a,b,c,t\n1,2,-inf,0\n1,2,3,1\n")
    write_csv("overflow.csv", "a,b,c,t\n1,2,3,0\n1e999,2,3,1\n")
    write_csv("huge.csv", "a,b,c,t\n1e308,2,3,0\n-1e308,2,3,1\n1e308,2,3,0\n")
    np.save("obj.npy", np.array([[1, "a"]], dtype=object))
    os.mkdir("dir.csv")
    os.mkdir("dir.npz")
    os.mkdir("outdir.npy")
    os.mkfifo("fifo.csv")
    os.mkfifo("fifo.npz")
    os.mkfifo("fifo.npy")
    return files


D = ["d.csv", "--target", "t"]

HOSTILE = [
    # bad data and files: exit status 1
    (["train", "empty.csv", "--target", "t", "--out", "o.npz"], 1, r"empty\.csv is empty; a header row"),
    (["predict", "m.npz", "empty.csv", "--out", "p.csv"], 1, r"empty\.csv is empty; a header row"),
    (["train", "header.csv", "--target", "t", "--out", "o.npz"], 1, r"header\.csv has a header row but no data rows"),
    (["predict", "m.npz", "header.csv", "--out", "p.csv"], 1, r"header\.csv has no data rows"),
    (["predict", "m.npz", "text.csv", "--out", "p.csv"], 1, r"text\.csv, line 3, column 'b' holds 'x', not a number"),
    (["train", "nan.csv", "--target", "t", "--out", "o.npz"], 1, r"nan\.csv, line 3, column 'b' holds 'nan', not a"),
    (["train", "nan_target.csv", "--target", "t", "--out", "o.npz"], 1, r"line 2, column 't' holds 'NaN', not a fin"),
    (["predict", "m.npz", "nan.csv", "--out", "p.npy"], 1, r"nan\.csv, line 3, column 'b' holds 'nan', not a finite"),
    (["predict", "m.npz", "inf.csv", "--out", "p.csv"], 1, r"inf\.csv, line 2, column 'c' holds '-inf', not a finite"),
    (["train", "overflow.csv", "--target", "t", "--out", "o.npz"], 1, r"line 3, column 'a' holds '1e999', not a fi"),
    (["train", "huge.csv", "--target", "t", "--standardize", "--out", "o.npz"], 1, r"--standardize: column 'a' of"),
    (["train", "d.csv", "--target", "t,t", "--out", "o.npz"], 1, r"--target names a column twice: t,t"),
    (["train", "dir.csv", "--target", "t", "--out", "o.npz"], 1, r"Is a directory: 'dir\.csv'"),
    (["predict", "m.npz", "dir.csv", "--out", "p.csv"], 1, r"Is a directory: 'dir\.csv'"),
    (["predict", "dir.npz", "X.npy", "--out", "p.csv"], 1, r"cannot load model file 'dir\.npz': it is a directory"),
    (["info", "dir.npz"], 1, r"cannot load model file 'dir\.npz': it is a directory"),
    (["train", "obj.npy", "--target", "-1", "--out", "o.npz"], 1, r"obj\.npy: Object arrays cannot be loaded"),
    (["train", "X.npy", "--target-file", "obj.npy", "--out", "o.npz"], 1, r"obj\.npy: Object arrays cannot be loaded"),
    (["predict", "m.npz", "obj.npy", "--out", "p.npy"], 1, r"obj\.npy: Array can't be memory-mapped"),
    (["train", *D, "--out", "fifo.npz"], 1, r"--out 'fifo\.npz' exists and is not a regular file"),
    (["predict", "m.npz", "X.npy", "--out", "fifo.npy"], 1, r"--out 'fifo\.npy' exists and is not a regular file"),
    (["train", *D, "--out", "dir.npz"], 1, r"--out 'dir\.npz' is a directory"),
    (["predict", "m.npz", "X.npy", "--out", "outdir.npy"], 1, r"--out 'outdir\.npy' is a directory"),
    (["predict", "m.npz", "X.npy", "--out", "nodir/p.npy"], 1, r"--out: the directory '.*nodir' does not exist"),
    # usage errors: exit status 2
    (["train", *D, "--out", ""], 2, r"--out must name a file"),
    (["predict", "m.npz", "X.npy", "--out", "p.npy", "--chunk-size", "0"], 2, r"argument --chunk-size: expected"),
    (["train", *D, "--out", "o.npz", "--epochs", str(10**30)], 2, r"argument --epochs: expected an integer in \[1, "),
    (["train", *D, "--out", "o.npz", "--lr", "-1"], 2, r"argument --lr: expected a finite number > 0, got '-1'"),
    (["train", *D, "--out", "o.npz", "--lr", "nan"], 2, r"argument --lr: expected a finite number > 0, got 'nan'"),
    (["train", *D, "--out", "o.npz", "--lr", "inf"], 2, r"argument --lr: expected a finite number > 0, got 'inf'"),
    (["demo", "--samples", str(10**20)], 2, r"argument --samples: expected an integer in \[4, "),
    (["demo", "--epochs", str(10**30)], 2, r"argument --epochs: expected an integer in \[1, "),
]


@pytest.mark.parametrize("argv, code, match", HOSTILE, ids=[" ".join(a) for a, _, _ in HOSTILE])
def test_hostile_invocations_give_one_error_line(hostile, capsys, argv, code, match):
    before = sorted(os.listdir())
    quiet = ["--quiet"] if argv[0] in ("train", "predict") else []
    assert run([*argv, *quiet]) == code
    line = the_error_line(capsys.readouterr())
    assert re.search(match, line), line
    assert sorted(os.listdir()) == before  # no output, no temporary file
    for name in ("fifo.csv", "fifo.npz", "fifo.npy"):
        assert stat.S_ISFIFO(os.stat(name).st_mode)  # not replaced by a regular file


FIFO_INPUTS = [
    ["train", "fifo.csv", "--target", "t", "--out", "o.npz"],
    ["train", "X.npy", "--target-file", "fifo.npy", "--out", "o.npz"],
    ["predict", "m.npz", "fifo.csv", "--out", "p.csv"],
    ["predict", "fifo.npz", "X.npy", "--out", "p.csv"],
    ["info", "fifo.npz"],
]


@pytest.mark.parametrize("argv", FIFO_INPUTS, ids=[" ".join(a) for a in FIFO_INPUTS])
def test_a_fifo_as_input_is_refused_rather_than_waited_on(hostile, argv):
    # A separate process with a timeout: reading a FIFO nobody writes to would block for ever.
    result = subprocess.run([sys.executable, "-m", "fastmlp", *argv], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    path = next(a for a in argv if a.startswith("fifo"))
    assert result.stderr == f"fastmlp: error: {path!r} is not a regular file (a FIFO, socket or device)\n"


def test_demo_takes_q_like_the_other_commands(capsys):
    assert run(["demo", "-q", "--epochs", "1", "--samples", "40"]) == 0
    assert capsys.readouterr().out.startswith("summary: ")


def test_unicode_column_names_round_trip(files, capsys):
    X = np.random.default_rng(0).normal(size=(30, 2))
    rows = "".join(f"{a!r},{b!r},{int(a > 0)}\n" for a, b in X.tolist())
    with open("ünï.csv", "w", encoding="utf-8-sig", newline="") as f:  # with a byte-order mark, as Excel writes
        f.write("größe,名前,ラベル\n" + rows)
    assert run(["train", "ünï.csv", "--target", "ラベル", "--out", "ü.npz", "--epochs", "2", "--quiet"]) == 0
    assert load_with_metadata("ü.npz")[1].arrays["feature_names"].tolist() == ["größe", "名前"]
    assert run(["predict", "ü.npz", "ünï.csv", "--out", "ü.csv", "--labels", "--quiet"]) == 0
    with open("ü.csv", encoding="utf-8") as f:
        assert f.readline() == "label\n"
    assert run(["train", "ünï.csv", "--target", "ラベル", "--output", "identity", "--out", "r.npz", "--epochs", "1",
                "--quiet"]) == 0  # fmt: skip
    assert run(["predict", "r.npz", "ünï.csv", "--out", "r.csv", "--quiet"]) == 0
    with open("r.csv", encoding="utf-8") as f:
        assert f.readline() == "ラベル\n"  # a regression's column is headed by its target's name
    assert run(["info", "ü.npz"]) == 0
    assert '"名前"' in capsys.readouterr().out


def test_unreadable_files_and_unwritable_directories(files, capsys):
    os.chmod("d.csv", 0)
    try:
        open("d.csv").close()
    except PermissionError:
        pass
    else:
        pytest.skip("this user reads any file (root with CAP_DAC_OVERRIDE, say)")
    assert run(["train", "d.csv", "--target", "t", "--out", "o.npz", "--quiet"]) == 1
    assert "Permission denied: 'd.csv'" in the_error_line(capsys.readouterr())
    os.chmod("d.csv", 0o644)
    os.mkdir("ro")
    os.chmod("ro", 0o555)
    assert run(["train", "d.csv", "--target", "t", "--out", "ro/o.npz", "--epochs", "1", "--quiet"]) == 1
    assert re.search(r"--out: cannot create files in the directory '.*ro'", the_error_line(capsys.readouterr()))
