"""The command line: ``python -m fastmlp demo|train|predict|info``, its files and its exit codes."""

import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
import types

import numba
import numpy as np
import pytest
from numba.core import event as numba_event

import fastmlp as fm
from fastmlp._jit import forward as jit_forward
from fastmlp.cli import main
from fastmlp.cli.common import COMPILING_CACHED, COMPILING_UNCACHED, EpochProgress, compile_notice
from fastmlp.io import load, load_with_metadata, save_model


def run(argv):
    """``main(argv)``'s exit status, also when argparse exits on a usage error."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def python_m(*args, **kwargs):
    command = [sys.executable, "-m", "fastmlp", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, **kwargs)


def error_lines(text):
    return [line for line in text.splitlines() if line.startswith("fastmlp: error:")]


def make_classes(n=400, seed=0):
    """Four features; three classes labelled 3, 4, 5 from a rule an MLP learns quickly."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)) * [1.0, 10.0, 0.1, 1.0] + [0.0, 50.0, 0.0, 0.0]  # scales that need --standardize
    labels = np.where(X[:, 0] > 0.5, 5, np.where(X[:, 1] > 55, 4, 3))
    return X, labels


def write_csv(path, columns, rows):
    with open(path, "w") as f:
        f.write(",".join(columns) + "\n")
        for row in rows:
            f.write(",".join(str(v) for v in row) + "\n")


def leftovers(directory, keep):
    """Files in ``directory`` other than ``keep`` (temporary files included)."""
    return sorted(set(os.listdir(directory)) - set(keep))


# ---------------------------------------------------------------------------------------------------------------
# The demo


def test_demo_runs_and_the_mlp_beats_the_linear_model():
    result = subprocess.run(
        [sys.executable, "-m", "fastmlp", "demo", "--epochs", "30"], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr
    assert "fastmlp: epoch 30/30  loss " in result.stderr and "epoch 30/30" not in result.stdout  # on stderr
    summary = re.search(r"summary: linear model ([\d.]+)%, MLP ([\d.]+)% test accuracy", result.stdout)
    assert summary, result.stdout
    linear, mlp = map(float, summary.groups())
    assert linear < 75 and mlp > 95


def test_quiet_demo_prints_only_the_summary(capsys):
    assert main(["demo", "--quiet", "--epochs", "2", "--samples", "200"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("summary:")


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr() == (f"fastmlp {fm.__version__}\n", "")
    result = python_m("--version")
    assert (result.returncode, result.stdout, result.stderr) == (0, f"fastmlp {fm.__version__}\n", "")


def test_usage_errors_exit_with_2(capsys):
    assert main([]) == 2
    assert "usage:" in capsys.readouterr().out  # no command: the help, and one error line
    for argv in (["demo", "--epochs", "0"], ["demo", "--epochs", "x"], ["nonsense"]):
        assert run(argv) == 2, argv
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1 and err.startswith("fastmlp: error: "), err  # not argparse's usage block


# ---------------------------------------------------------------------------------------------------------------
# train -> info -> predict


def test_csv_train_info_predict(tmp_path, capsys):
    X, labels = make_classes()
    columns = ["width", "height", "depth", "weight", "kind"]
    data = tmp_path / "train.csv"
    write_csv(data, columns, [[*np.round(x, 6), label] for x, label in zip(X, labels, strict=True)])
    model_path = tmp_path / "model.npz"

    argv = ["train", str(data), "--target", "kind", "--layers", "32", "--epochs", "60", "--batch-size", "16",
            "--lr", "0.01", "--standardize", "--validation-fraction", "0.2", "--out", str(model_path)]  # fmt: skip
    assert main(argv) == 0
    captured = capsys.readouterr()
    summary = captured.out.strip().splitlines()
    assert len(summary) == 1, captured.out
    assert re.fullmatch(
        r"trained 4-32-3 \(softmax, 259 parameters\) for 60 epochs on 320 rows \(80 held out\) in [\d.]+ s: "
        r"loss [\d.e-]+, "
        r"accuracy [\d.]+, val_loss [\d.e-]+, val_accuracy [\d.]+; saved .*model\.npz",
        summary[0],
    ), summary[0]
    assert "fastmlp: output softmax chosen for 3 integer classes [3, 4, 5]" in captured.err
    assert error_lines(captured.err) == []

    model, header = load_with_metadata(model_path)
    meta, arrays = header["metadata"], header.arrays
    assert arrays["classes"].tolist() == [3, 4, 5] and arrays["feature_names"].tolist() == columns[:4]
    assert meta["target_names"] == ["kind"]
    mean, scale = model.input_scaling  # --standardize is part of the model
    assert len(mean) == 4 and mean[1] == pytest.approx(50, abs=2)
    assert header["training"]["epochs"] == 60

    assert main(["info", str(model_path)]) == 0
    text = capsys.readouterr().out
    assert re.search(r"^layers: +4-32-3 \(1 hidden\)$", text, re.M), text
    assert re.search(r"^activations: +hidden relu; output softmax$", text, re.M)
    assert re.search(r"^training: +60 epochs, 19200 samples seen, Adam\(lr=0.01", text, re.M)
    assert re.search(r"^array.classes: +<i8 shape \(3,\): \[3, 4, 5\]$", text, re.M), text
    assert main(["info", str(model_path), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["arrays"]["classes"]["values"] == [3, 4, 5]
    assert {k: v for k, v in shown.items() if k != "arrays"} == {k: v for k, v in header.items() if k != "arrays"}

    # Probabilities to .csv, in small chunks; the feature columns are found by name, in any order, extra ignored.
    test_X, test_labels = make_classes(250, seed=1)
    new = tmp_path / "new.csv"
    write_csv(new, ["id", "weight", "depth", "height", "width"],
              [[i, *np.round(x[::-1], 6)] for i, x in enumerate(test_X)])  # fmt: skip
    out = tmp_path / "proba.csv"
    assert main(["predict", str(model_path), str(new), "--out", str(out), "--chunk-size", "64"]) == 0
    assert re.fullmatch(r"predicted 250 rows in [\d.]+ s; wrote .*proba\.csv\n", capsys.readouterr().out)
    with open(out) as f:
        assert f.readline().strip() == "proba_3,proba_4,proba_5"
    proba = np.loadtxt(out, delimiter=",", skiprows=1, dtype=np.float32)
    expected = model.predict(np.round(test_X, 6))  # the loaded model standardises its inputs itself
    unscaled = fm.Model.from_config(model.config(), params=model.params)
    np.testing.assert_allclose(unscaled.predict((np.round(test_X, 6) - mean) / scale), expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(proba, expected, rtol=2e-6, atol=1e-7)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)

    # Labels to .npy: the original class values, and the rule has been learned.
    out = tmp_path / "labels.npy"
    assert main(["predict", str(model_path), str(new), "--out", str(out), "--labels", "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")
    predicted = np.load(out)
    assert predicted.dtype == np.int64 and predicted.shape == (250,)
    assert set(np.unique(predicted)) <= {3, 4, 5}
    assert np.mean(predicted == test_labels) > 0.85
    assert leftovers(tmp_path, ["train.csv", "model.npz", "new.csv", "proba.csv", "labels.npy"]) == []


def test_npy_and_npz_train_and_predict(tmp_path, capsys):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 5))
    y = X @ [1.0, -2.0, 0.5, 0.0, 3.0] + 0.1
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    args = ["--layers", "none", "--epochs", "40", "--lr", "0.05", "--dtype", "float64", "--quiet"]
    assert main(["train", str(tmp_path / "X.npy"), "--target-file", str(tmp_path / "y.npy"),
                 "--out", str(tmp_path / "linear.npz"), *args]) == 0  # fmt: skip
    model = load(tmp_path / "linear.npz")
    assert model.sizes == (5, 1) and model.output == "identity" and model.dtype == np.float64
    np.testing.assert_allclose(model.weights[0][:, 0], [1.0, -2.0, 0.5, 0.0, 3.0], atol=0.05)

    assert main(["predict", str(tmp_path / "linear.npz"), str(tmp_path / "X.npy"), "--out", str(tmp_path / "p.npy"),
                 "--quiet"]) == 0  # fmt: skip
    predicted = np.load(tmp_path / "p.npy")
    assert predicted.dtype == np.float64 and predicted.shape == (300, 1)
    assert np.array_equal(predicted, model.predict(X))

    # The same data as one .npy matrix, the target its last column; and as an .npz with X and y.
    np.save(tmp_path / "Xy.npy", np.column_stack([X, y]))
    assert main(["train", str(tmp_path / "Xy.npy"), "--target", "-1", "--out", str(tmp_path / "m2.npz"), *args]) == 0
    assert np.array_equal(load(tmp_path / "m2.npz").params, model.params)  # same data, same seed: same bits
    np.savez(tmp_path / "d.npz", features=X, y=y)
    argv = ["train", str(tmp_path / "d.npz"), "--x-key", "features", "--out", str(tmp_path / "m3.npz"), *args]
    assert main(argv) == 0
    assert np.array_equal(load(tmp_path / "m3.npz").params, model.params)
    assert main(["predict", str(tmp_path / "m3.npz"), str(tmp_path / "d.npz"), "--x-key", "features",
                 "--out", str(tmp_path / "p.csv"), "--chunk-size", "7", "--quiet"]) == 0  # fmt: skip
    with open(tmp_path / "p.csv") as f:
        assert f.readline() == "y\n"
    assert np.array_equal(np.loadtxt(tmp_path / "p.csv", skiprows=1), predicted[:, 0])  # %.17g is exact

    # Binary 0/1 targets give a sigmoid classifier; its labels come back as 0/1.
    np.savez(tmp_path / "b.npz", X=X, y=(y > 0).astype(int))
    assert main(["train", str(tmp_path / "b.npz"), "--out", str(tmp_path / "b_model.npz"), "--epochs", "30",
                 "--quiet"]) == 0  # fmt: skip
    b_model, header = load_with_metadata(tmp_path / "b_model.npz")
    assert b_model.output == "sigmoid" and b_model.sizes == (5, 64, 1) and header.arrays["classes"].tolist() == [0, 1]
    assert main(["predict", str(tmp_path / "b_model.npz"), str(tmp_path / "X.npy"), "--labels",
                 "--out", str(tmp_path / "b.npy"), "--quiet"]) == 0  # fmt: skip
    assert np.mean(np.load(tmp_path / "b.npy") == (y > 0)) > 0.9
    assert capsys.readouterr().err == ""


def _header_of(path):
    with open(path, encoding="utf-8") as f:
        return f.readline().rstrip("\n")


# (what is trained, the target columns of d.csv or the y of d.npz, extra train options, expected header)
HEADERS = [
    ("softmax, classes 3 4 5", "csv", "kind", [], "proba_3,proba_4,proba_5"),
    ("binary, classes 2 7", "csv", "churn", [], "proba_7"),  # the one sigmoid output: P(churn == 7)
    ("binary from arrays", "npz", "binary", [], "proba_1"),
    ("multilabel", "csv", "red,blue", [], "proba_red,proba_blue"),
    ("multilabel from arrays", "npz", "multilabel", [], "proba_y_0,proba_y_1"),
    ("regression", "csv", "price", [], "price"),
    ("two regression targets", "csv", "price,kind", ["--output", "identity"], "price,kind"),
    ("regression from arrays", "npz", "price", [], "y"),
    ("two regression targets from arrays", "npz", "two", [], "y_0,y_1"),
]


def test_npy_target_columns_become_outputs_in_the_order_given(tmp_path):
    # Two linear targets, named out of column order: output 0 must be column 3 and output 1 column 0.
    rng = np.random.default_rng(4)
    F = rng.normal(size=(400, 2))
    data = np.column_stack([-F[:, 0], F, 10 * F[:, 1]])  # columns: t0, f0, f1, t3
    np.save(tmp_path / "d.npy", data)
    args = ["--layers", "none", "--epochs", "60", "--lr", "0.05", "--dtype", "float64", "--quiet"]
    assert main(["train", str(tmp_path / "d.npy"), "--target", "3,0", "--out", str(tmp_path / "m.npz"), *args]) == 0
    W = load(tmp_path / "m.npz").weights[0]
    np.testing.assert_allclose(W, [[0.0, -1.0], [10.0, 0.0]], atol=0.05)
    assert run(["train", str(tmp_path / "d.npy"), "--target", "3,-1", "--out", str(tmp_path / "m2.npz"), *args]) == 1


@pytest.mark.parametrize("what, suffix, target, extra, header", HEADERS, ids=[h[0] for h in HEADERS])
def test_prediction_csv_headers_say_what_each_column_is(tmp_path, monkeypatch, what, suffix, target, extra, header):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    targets = {
        "kind": rng.choice([3, 4, 5], 60), "churn": rng.choice([2, 7], 60), "red": rng.integers(0, 2, 60),
        "blue": rng.integers(0, 2, 60), "price": rng.normal(size=60),
    }  # fmt: skip
    write_csv("d.csv", ["x0", "x1", *targets], np.column_stack([X, *targets.values()]).tolist())
    ys = {"binary": targets["red"], "multilabel": np.column_stack([targets["red"], targets["blue"]]),
          "price": targets["price"], "two": np.column_stack([targets["price"], targets["kind"]])}  # fmt: skip
    np.savez("d.npz", X=X, y=ys.get(target, 0))
    argv = ["train", f"d.{suffix}", "--out", "m.npz", "--epochs", "1", "--quiet", *extra]
    assert main(argv + (["--target", target] if suffix == "csv" else [])) == 0
    assert main(["predict", "m.npz", f"d.{suffix}", "--out", "p.csv", "--quiet"]) == 0
    assert _header_of("p.csv") == header
    assert main(["predict", "m.npz", f"d.{suffix}", "--out", "p.npy", "--quiet"]) == 0
    assert np.load("p.npy").shape == (60, len(header.split(",")))  # a column per name, as in the .npy file
    model = load("m.npz")
    if model.output == "softmax" or (model.output == "sigmoid" and model.sizes[-1] == 1):  # --labels applies
        assert main(["predict", "m.npz", f"d.{suffix}", "--out", "l.csv", "--labels", "--quiet"]) == 0
        assert _header_of("l.csv") == "label"


def test_a_softmax_model_without_classes_numbers_its_probabilities(tmp_path):
    save_model(fm.Model([2, 3, 3], output="softmax", seed=0), tmp_path / "m.npz")
    np.save(tmp_path / "X.npy", np.zeros((4, 2)))
    assert main(["predict", str(tmp_path / "m.npz"), str(tmp_path / "X.npy"), "--out", str(tmp_path / "p.csv"),
                 "--quiet"]) == 0  # fmt: skip
    assert _header_of(tmp_path / "p.csv") == "proba_0,proba_1,proba_2"  # the labels --labels would write


def test_progress_and_quiet(tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", X=rng.normal(size=(50, 3)), y=rng.normal(size=50))
    out = str(tmp_path / "m.npz")
    assert main(["train", str(tmp_path / "d.npz"), "--out", out, "--epochs", "3", "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")
    assert main(["train", str(tmp_path / "d.npz"), "--out", out, "--epochs", "3"]) == 0
    captured = capsys.readouterr()
    assert "epoch 1/3" not in captured.out  # not a terminal: no progress unless asked
    assert "fastmlp: read 50 rows x 3 features from" in captured.err  # messages through logging, on stderr
    assert main(["train", str(tmp_path / "d.npz"), "--out", out, "--epochs", "3", "--progress"]) == 0
    captured = capsys.readouterr()
    assert "fastmlp: epoch 3/3  loss " in captured.err and "epoch 3/3" not in captured.out  # through logging


class FakeTerminal(io.StringIO):
    """A stream that says it is a terminal, to see what a user at one would."""

    def isatty(self):
        return True


def progress_lines(text):
    """The lines of ``text`` that report epochs, each as a terminal shows it (what follows its last carriage return)."""
    return [line.rsplit("\r", 1)[-1] for line in text.split("\n") if "epoch " in line]


def test_train_progress_is_one_line_on_a_terminal(tmp_path, monkeypatch, capsys):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", X=rng.normal(size=(20, 3)), y=rng.normal(size=20))
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    argv = ["train", str(tmp_path / "d.npz"), "--out", str(tmp_path / "m.npz"), "--epochs", "1000"]
    assert main(argv) == 0  # no --progress: a terminal shows it by default
    text = terminal.getvalue()
    shown = progress_lines(text)
    assert len(shown) == 1, text[-2000:]  # 1000 epochs, one line redrawn in place
    assert re.match(r"fastmlp: \[#{20}\] epoch 1000/1000  [\d.]+ s  loss [\d.e-]+  r2 ", shown[0]), shown
    assert 2 <= text.count("\r") <= 1001  # redrawn, but at most once per epoch
    assert "trained 3-64-1" in capsys.readouterr().out


def test_train_progress_off_a_terminal_is_a_few_lines(tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", X=rng.normal(size=(20, 3)), y=rng.normal(size=20))
    argv = ["train", str(tmp_path / "d.npz"), "--out", str(tmp_path / "m.npz"), "--epochs", "1000", "--progress"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    shown = progress_lines(err)
    assert "\r" not in err and 2 <= len(shown) <= 12, shown  # the first epoch, each tenth; not 1000 lines
    assert [int(re.match(r"fastmlp: epoch (\d+)/1000  loss ", line).group(1)) for line in shown] == [
        1, *range(100, 1001, 100)
    ]  # fmt: skip


def test_progress_finishes_the_line_when_the_fit_stops_early():
    """A fit that ends before its last epoch (a divergence, early stopping) still leaves a finished line."""
    terminal = FakeTerminal()
    ticks = iter(range(10**6))
    with EpochProgress(100, terminal, interval=5, clock=lambda: next(ticks)) as progress:
        for epoch in range(1, 38):
            progress(epoch, {"loss": 1.0 / epoch})
    text = terminal.getvalue()
    assert text.endswith("\n") and text.count("\n") == 1
    assert progress_lines(text)[0].startswith("fastmlp: [#######-------------] epoch 37/100  ")
    assert text.count("\r") == 9  # throttled: epoch 1, then every 5 ticks, then the 37th at close


def test_progress_fits_the_terminal_width():
    terminal = FakeTerminal()  # no fileno: taken as 80 columns
    with EpochProgress(3, terminal) as progress:
        progress(1, {"loss": 1.0, **{f"val_metric_{k}": 0.5 for k in range(20)}})
    assert all(len(segment) <= 79 for segment in terminal.getvalue().strip("\n").split("\r"))


def test_demo_progress_on_and_off_a_terminal(monkeypatch, capsys):
    argv = ["demo", "--epochs", "300", "--samples", "40"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert len(progress_lines(captured.err)) <= 2 * 12 and "epoch 1/" not in captured.out  # was 2 x 300 lines
    assert "fastmlp: epoch 300/300  loss " in captured.err
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(argv) == 0
    assert [line.split("]")[0] for line in progress_lines(terminal.getvalue())] == ["fastmlp: [" + "#" * 20] * 2
    before = terminal.getvalue()
    assert main([*argv, "--quiet"]) == 0
    assert terminal.getvalue() == before  # --quiet: no bar either


@pytest.mark.parametrize("as_json", [False, True])
def test_info_without_a_model_describes_the_installation(capsys, as_json):
    assert main(["info", "--json"] if as_json else ["info"]) == 0
    out = capsys.readouterr().out
    if as_json:
        shown = json.loads(out)
    else:
        shown = dict(line.split(": ", 1) for line in out.splitlines())
        shown = {key.rstrip(":").strip(): value.strip() for key, value in shown.items()}
    blas = fm.blas_info()
    assert shown["fastmlp"] == fm.__version__ and shown["numba"] == numba.__version__
    assert shown["blas"].startswith(blas["library"]) and shown["blas.path"] == blas["path"]
    assert os.path.basename(blas["path"]) in shown["threads"]


def test_subprocess_train_info_predict(tmp_path):
    X, labels = make_classes(200)
    np.savez(tmp_path / "d.npz", X=X, y=labels)
    np.save(tmp_path / "X.npy", X)
    result = python_m("train", "d.npz", "--out", "model.npz", "--epochs", "5", "--standardize", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("trained 4-64-3 (softmax, 515 parameters) for 5 epochs on 200 rows")
    result = python_m("info", "model.npz", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["arrays"]["classes"]["values"] == [3, 4, 5]
    result = python_m("predict", "model.npz", "X.npy", "--out", "p.csv", "--chunk-size", "50", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert np.loadtxt(tmp_path / "p.csv", delimiter=",", skiprows=1).shape == (200, 3)
    result = python_m("predict", "model.npz", "missing.npy", "--out", "q.npy", cwd=tmp_path)
    assert result.returncode == 1 and len(error_lines(result.stderr)) == 1, result.stderr
    assert "No such file or directory: 'missing.npy'" in result.stderr
    result = python_m("predict", "model.npz", "X.npy", cwd=tmp_path)
    assert result.returncode == 2 and "the following arguments are required: --out" in result.stderr
    assert leftovers(tmp_path, ["d.npz", "X.npy", "model.npz", "p.csv"]) == []


# ---------------------------------------------------------------------------------------------------------------
# The first-run compile notice


def _a_kernel():
    return next(k for k in vars(jit_forward).values() if isinstance(k, numba.core.registry.CPUDispatcher))


def test_the_compile_notice_is_given_once_and_only_for_fastmlp_kernels(caplog):
    caplog.set_level(logging.INFO, logger="fastmlp")
    kernel, other = _a_kernel(), numba.njit(lambda x: x)
    with compile_notice() as listener:
        with numba_event.trigger_event("numba:compile", data={"dispatcher": other}):
            pass
        assert not listener.shown and caplog.messages == []  # not a fastmlp kernel
        for _ in range(3):  # a first run compiles many kernels: one notice
            with numba_event.trigger_event("numba:compile", data={"dispatcher": kernel}):
                pass
    assert listener.shown and caplog.messages == [COMPILING_CACHED]
    with numba_event.trigger_event("numba:compile", data={"dispatcher": kernel}):
        pass
    assert caplog.messages == [COMPILING_CACHED]  # the listener is gone after the block
    uncached = types.SimpleNamespace(py_func=kernel.py_func, _cache=numba.core.caching.NullCache())
    with compile_notice(), numba_event.trigger_event("numba:compile", data={"dispatcher": uncached}):
        pass  # FASTMLP_CACHE=0, FASTMLP_FASTMATH=1, a read-only install: "first run only" would be untrue
    assert caplog.messages == [COMPILING_CACHED, COMPILING_UNCACHED]


@pytest.mark.slow
@pytest.mark.subprocess
def test_a_cold_cache_shows_the_compile_notice_once_and_a_warm_one_never(tmp_path):
    save_model(fm.Model([3, 4, 2], output="softmax", seed=0), tmp_path / "m.npz")
    np.save(tmp_path / "X.npy", np.zeros((5, 3)))
    notice = f"fastmlp: {COMPILING_CACHED}"
    for cache, extra, shown in [("cold", [], 1), ("cold", [], 0), ("cold-quiet", ["--quiet"], 0)]:
        env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / cache))  # created by Numba, empty at first
        result = python_m("predict", "m.npz", "X.npy", "--out", "p.npy", *extra, cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stderr
        assert result.stderr.count(notice) == shown, (cache, extra, result.stderr)
    assert os.listdir(tmp_path / "cold-quiet")  # that run did compile (and cache), quietly


# ---------------------------------------------------------------------------------------------------------------
# Exit codes and messages


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3))
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "X4.npy", rng.normal(size=(10, 4)))
    np.save(tmp_path / "y.npy", X.sum(axis=1))
    write_csv(tmp_path / "d.csv", ["a", "b", "c", "t"], np.column_stack([X, X.sum(axis=1)]))
    save_model(fm.Model([3, 4, 1], seed=0), tmp_path / "m.npz")
    (tmp_path / "not_a_model.npz").write_bytes(b"PK\x03\x04 this is not a model")
    return tmp_path


USAGE_ERRORS = [
    ["train", "d.csv", "--target", "t"],  # --out is required
    ["train", "d.csv", "--target", "t", "--out", "m2.npz", "--epochs", "0"],
    ["train", "d.csv", "--target", "t", "--out", "m2.npz", "--batch-size", "-1"],
    ["train", "d.csv", "--target", "t", "--out", "m2.npz", "--lr", "nan"],
    ["train", "d.csv", "--target", "t", "--out", "m2.npz", "--layers", "64,x"],
    ["train", "d.csv", "--target", "t", "--out", "m2.npz", "--layers", "0"],
    ["train", "d.csv", "--target", "t", "--out", "m2.npz", "--hidden", "softmax"],
    ["train", "d.csv", "--target", "t", "--out", "m2.npz", "--layers", "4", "--hidden", "relu,tanh"],
    ["train", "d.csv", "--target", "t", "--out", "m2.npz", "--output", "linear"],
    ["train", "d.csv", "--target", "t", "--out", "m2.npz", "--optimizer", "rmsprop"],
    ["train", "d.csv", "--target", "t", "--out", "m2.npz", "--validation-fraction", "1"],
    ["train", "d.csv", "--target", "t", "--out", "m2.npz", "--quiet", "--progress"],
    ["train", "d.csv", "--out", "m2.npz"],  # no --target for .csv
    ["train", "X.npy", "--out", "m2.npz"],  # no targets for .npy
    ["train", "X.npy", "--target", "last", "--out", "m2.npz"],
    ["train", "data.txt", "--target", "t", "--out", "m2.npz"],
    ["predict", "m.npz", "X.npy", "--out", "p.txt"],
    ["predict", "m.npz", "X.npy", "--out", "p.npy", "--chunk-size", "0"],
    ["predict", "m.npz", "X.parquet", "--out", "p.npy"],
    ["info", "m.npz", "m.npz"],
]


@pytest.mark.parametrize("argv", USAGE_ERRORS, ids=lambda argv: " ".join(argv))
def test_usage_errors(files, monkeypatch, capsys, argv):
    monkeypatch.chdir(files)
    assert run(argv) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and re.match(r"fastmlp: error: .* \(see: fastmlp \w+ --help\)$", err), err
    assert leftovers(files, ["X.npy", "X4.npy", "y.npy", "d.csv", "m.npz", "not_a_model.npz"]) == []


BAD_DATA = [
    (["train", "missing.csv", "--target", "t", "--out", "m2.npz"], "No such file or directory: 'missing.csv'"),
    (["train", "d.csv", "--target", "z", "--out", "m2.npz"], r"--target: column\(s\) 'z' not in d.csv"),
    (["train", "d.csv", "--target", "a,b,c,t", "--out", "m2.npz"], "leaves no feature columns"),
    (["train", "d.csv", "--target", "t", "--out", "nodir/m2.npz"], "--out: the directory .* does not exist"),
    (["train", "d.csv", "--target", "t", "--output", "softmax", "--out", "m2.npz"], "integer class labels"),
    (["train", "d.csv", "--target", "t", "--output", "sigmoid", "--out", "m2.npz"], "probabilities in \\[0, 1\\]"),
    (["train", "d.csv", "--target", "t", "--lr", "1e6", "--optimizer", "sgd", "--out", "m2.npz"], "diverged"),
    (["train", "X.npy", "--target-file", "X4.npy", "--out", "m2.npz"], "the targets have"),
    (["train", "X.npy", "--target", "7", "--out", "m2.npz"], "out of range"),
    (["train", "m.npz", "--out", "m2.npz"], "has no array named 'X'"),
    (["predict", "not_a_model.npz", "X.npy", "--out", "p.npy"], "cannot load model file 'not_a_model.npz'"),
    (["predict", "X.npy", "X.npy", "--out", "p.npy"], "cannot load model file 'X.npy': not a fastmlp model file"),
    (["predict", "m.npz", "X4.npy", "--out", "p.npy"], r"X4.npy must have shape \(n_rows, 3\)"),
    (["predict", "m.npz", "d.csv", "--out", "p.npy"], "d.csv has 4 columns; the model expects 3 features"),
    (["predict", "m.npz", "X.npy", "--out", "p.npy", "--labels"], "--labels needs a classifier"),
    (["info", "not_a_model.npz"], "cannot load model file"),
    (["info", "missing.npz"], "cannot load model file 'missing.npz': no such file"),
]


@pytest.mark.parametrize("argv, match", BAD_DATA, ids=lambda a: " ".join(a) if isinstance(a, list) else "")
def test_bad_data_and_files_exit_with_1_and_one_error_line(files, monkeypatch, capsys, argv, match):
    monkeypatch.chdir(files)
    assert run([*argv, "--quiet"] if argv[0] != "info" else argv) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fastmlp: error: "), captured.err
    assert re.search(match, lines[0]), lines[0]
    assert leftovers(files, ["X.npy", "X4.npy", "y.npy", "d.csv", "m.npz", "not_a_model.npz"]) == []


def test_csv_problems_name_the_line_and_column(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    cases = {
        "a,b,t\n1,2,3\n4,x,6\n": "bad.csv, line 3, column 'b' holds 'x', not a number",
        "a,b,t\n1,2,3\n4,,6\n": "bad.csv, line 3, column 'b' is empty",
        "a,b,t\n1,2,3\n\n4,5\n": "bad.csv, line 4: 2 fields, but the header has 3",
        "a,a,t\n1,2,3\n": "the column name 'a' appears twice",
        "": "bad.csv is empty",
        "a,b,t\n": "has a header row but no data rows",
        "a,b,t\n1,nan,3\n": "bad.csv, line 2, column 'b' holds 'nan', not a finite number",
    }
    for content, message in cases.items():
        (tmp_path / "bad.csv").write_text(content)
        assert run(["train", "bad.csv", "--target", "t", "--out", "m.npz", "--quiet"]) == 1, content
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and re.search(message, err), (content, err)
        assert not (tmp_path / "m.npz").exists()


@pytest.mark.parametrize("suffix", [".npy", ".csv"])
@pytest.mark.parametrize("existing", [False, True])
def test_a_failing_predict_leaves_no_partial_output(files, monkeypatch, capsys, suffix, existing):
    """NaN in a later chunk: earlier chunks were written to the temporary file, which is removed."""
    monkeypatch.chdir(files)
    X = np.load("X.npy")
    X[95, 1] = np.nan
    np.save("nan.npy", X)
    out = files / f"p{suffix}"
    if existing:
        out.write_bytes(b"previous results")
    assert run(["predict", "m.npz", "nan.npy", "--out", out.name, "--chunk-size", "10", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("fastmlp: error: nan.npy: data row 95 (counting from 0): X contains NaN"), err
    assert out.read_bytes() == b"previous results" if existing else not out.exists()
    keep = ["X.npy", "X4.npy", "y.npy", "d.csv", "m.npz", "not_a_model.npz", "nan.npy"]
    assert leftovers(files, keep + ([out.name] if existing else [])) == []


def test_sigterm_during_predict_leaves_no_output(tmp_path):
    """SIGTERM while predicting row by row: exit status 143, no output file, no temporary file."""
    rng = np.random.default_rng(0)
    save_model(fm.Model([4, 8, 2], output="softmax", seed=0), tmp_path / "m.npz")
    np.save(tmp_path / "big.npy", rng.normal(size=(400_000, 4)).astype(np.float32))
    process = subprocess.Popen(
        [sys.executable, "-m", "fastmlp", "predict", "m.npz", "big.npy", "--out", "out.npy", "--chunk-size", "1",
         "--progress"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        seen = []
        for line in process.stderr:  # the first progress report comes after a second of predicting
            seen.append(line)
            if re.match(r"fastmlp: predicted \d+/400000 rows", line) or time.monotonic() > deadline:
                break
        assert any("predicted" in line for line in seen), seen
        temporary = [name for name in os.listdir(tmp_path) if name.startswith(".out.npy.")]
        assert len(temporary) == 1  # the output is being written to a temporary file...
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 128 + signal.SIGTERM, err
    assert "fastmlp: error: stopped by SIGTERM; no partial output was left" in err
    assert sorted(os.listdir(tmp_path)) == ["big.npy", "m.npz"]  # ...which is gone, and no out.npy appeared


def test_damaged_npz_data_is_one_error_line(tmp_path, capsys):
    X = np.random.default_rng(0).normal(size=(50, 3))
    np.savez(tmp_path / "data.npz", X=X, y=(X[:, 0] > 0).astype(int))
    raw = (tmp_path / "data.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(raw[: len(raw) // 2])
    flipped = bytearray(raw)
    flipped[len(raw) // 3] ^= 0xFF
    (tmp_path / "flip.npz").write_bytes(bytes(flipped))
    for name in ("cut.npz", "flip.npz"):
        code = main(["train", str(tmp_path / name), "--x-key", "X", "--y-key", "y", "--out", str(tmp_path / "m.npz")])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 1 and len(err) == 1 and err[0].startswith("fastmlp: error:"), (name, err)
        assert not (tmp_path / "m.npz").exists()


def test_standardize_on_25000_features_saves_a_file_that_loads(tmp_path, capsys):
    # The mean and scale of 25,000 features overflowed the JSON header (1 MiB) when they were metadata.
    rng = np.random.default_rng(0)
    X = rng.normal(5.0, 3.0, size=(8, 25_000)).astype(np.float32)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", rng.normal(size=8))
    args = ["train", str(tmp_path / "X.npy"), "--target-file", str(tmp_path / "y.npy"), "--output", "identity"]
    assert main([*args, "--layers", "2", "--epochs", "1", "--standardize", "--out", str(tmp_path / "m.npz")]) == 0
    capsys.readouterr()
    model = fm.load(tmp_path / "m.npz")
    assert model.input_scaling[0].shape == (25_000,)
    assert main(["predict", str(tmp_path / "m.npz"), str(tmp_path / "X.npy"), "--out", str(tmp_path / "p.npy")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), model.predict(X))
