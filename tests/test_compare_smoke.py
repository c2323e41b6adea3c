"""bench/compare.py runs end to end (a --quick run with fastmlp and NumPy only) and reports what it measured."""

import json
import os
import subprocess
import sys

import pytest

from bench import compare

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = pytest.mark.benchmark

QUICK_ROWS = ("W1", "W1-tanh", "W4", "W4-tanh", "P1")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare")
    cmd = [sys.executable, "-m", "bench.compare", "--quick", "--threads", "1", "--workloads", "W1", "W4", "P1",
           "--activations", "relu", "tanh", "--rounds", "2", "--peers", "fastmlp", "numpy",
           "--out", str(out)]  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return out, done.stdout


# The two share one --quick run of bench.compare: two rounds of a process per implementation and workload, each
# process timing both activations (~15 s in all).
@pytest.mark.slow
@pytest.mark.subprocess
def test_quick_run_writes_its_outputs(quick_run):
    out, stdout = quick_run
    markdown = (out / "compare.md").read_text()
    assert markdown.strip() in stdout  # the table is printed too
    raw = json.loads((out / "compare.json").read_text())
    assert raw["meta"]["threads"] == [1] and raw["meta"]["profile"] == "quick" and raw["meta"]["rounds"] == 2
    assert raw["meta"]["activations"] == ["relu", "tanh"]
    blas = raw["meta"]["blas"]["fastmlp"]
    assert blas["source"] in ("fastmlp.blas_info()", "threadpoolctl: the BLAS SciPy loads"), blas
    assert "BLAS of fastmlp's kernels: " in markdown and blas["source"] in markdown
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert any("matplotlib" in note for note in raw["notes"])
    else:
        assert (out / "compare.png").stat().st_size > 1000


@pytest.mark.slow
@pytest.mark.subprocess
def test_table_has_fastmlp_and_numpy_figures(quick_run):
    out, _ = quick_run
    raw = json.loads((out / "compare.json").read_text())
    runs = raw["runs"]["1"]
    assert set(runs) == set(QUICK_ROWS)
    for row in QUICK_ROWS:
        for impl in ("fastmlp", "numpy"):
            result = runs[row][impl]
            assert "error" not in result, result
            assert result["value"] > 0
            assert result["env"]["OPENBLAS_NUM_THREADS"] == "1"
            assert [r["value"] > 0 for r in result["rounds"]] == [True, True]  # one figure per round
        assert raw["summary"]["1"][row]["speedup"]["numpy"] > 0
        low, high, n = raw["summary"]["1"][row]["spread"]["numpy"]
        assert low <= raw["summary"]["1"][row]["speedup"]["numpy"] <= high and n == 2
    assert runs["W1"]["fastmlp"]["unit"] == "samples/s" and runs["P1"]["fastmlp"]["unit"] == "µs"
    assert runs["W4-tanh"]["fastmlp"]["unit"] == "ms/epoch" and runs["W4-tanh"]["fastmlp"]["epochs_per_call"] > 1
    assert 0 < runs["W4-tanh"]["fastmlp"]["compiled_epoch_ms"]
    assert raw["summary"]["1"]["W1"]["fraction_exact"] > 0  # the floor was measured in the same run
    assert raw["summary"]["1"]["W4-tanh"]["fraction_exact"] > 0
    markdown = (out / "compare.md").read_text()
    prefixes = ("| W1 train", "| W1-tanh train", "| W4 train", "| W4-tanh train", "| P1 predict")
    table = [line for line in markdown.splitlines() if line.startswith(prefixes)]
    assert len(table) == len(QUICK_ROWS)
    header = next(line for line in markdown.splitlines() if line.startswith("| workload | unit"))
    assert "fastmlp" in header and "NumPy" in header and "PyTorch" not in header
    for line, row in zip(table, QUICK_ROWS, strict=True):
        cells = [c.strip() for c in line.strip("|").split("|")]
        fast, peer = runs[row]["fastmlp"]["value"], runs[row]["numpy"]["value"]
        numpy_wins = peer > fast if runs[row]["fastmlp"]["higher_is_better"] else peer < fast
        bold = [cell.startswith("**") for cell in cells[2:4]]
        assert bold == ([False, True] if numpy_wins else [True, False]), (line, fast, peer)  # the winner, not us
        assert "×, " in cells[3] and "×" not in cells[2]  # NumPy's figure, fastmlp's speed-up over it and its range
    # P1's target against the NumPy forward is there, with its measured ratio.
    assert any(line.startswith("| P1 | latency ≤ 0.6× the NumPy forward's | ") for line in markdown.splitlines())
    # A quick run says so wherever its figures are shown.
    assert markdown.startswith(f"# fastmlp compared {compare.QUICK_NOTE}\n")
    assert f"## 1 thread {compare.QUICK_NOTE}" in markdown


def _raw(profile="full"):
    """Results of a made-up run: W2, where a peer (JAX scan) beats fastmlp, and P1, where fastmlp wins."""
    meta = {"date": "2026-01-01 00:00 UTC", "cpu": "a CPU", "python": "3.11", "threads": [1], "profile": profile,
            "rows": {"W1": 1, "W2": 2, "W3": 3}, "p2_rows": 4, "lr": 0.001, "OPENBLAS_CORETYPE": None,
            "command": "python -m bench.compare", "versions": dict.fromkeys(
                ("fastmlp", "numpy", "numba", "scipy", "torch", "jax", "sklearn"), "1")}  # fmt: skip
    samples, micro = {"unit": "samples/s", "higher_is_better": True}, {"unit": "µs", "higher_is_better": False}
    runs = {
        "W2": {"fastmlp": {"value": 86e3, **samples}, "torch": {"value": 70e3, **samples},
               "jax-scan": {"value": 94e3, **samples}},
        "P1": {"fastmlp": {"value": 13.4, **micro}, "torch": {"value": 46.2, **micro},
               "jax-scan": {"error": "exit 1: crashed"}},
    }  # fmt: skip
    return compare.summarise({"meta": meta, "notes": [], "floors": {}, "runs": {"1": runs}})


def _cells(markdown, prefix):
    line = next(line for line in markdown.splitlines() if line.startswith(prefix))
    return [c.strip() for c in line.strip("|").split("|")]


def test_the_winner_of_each_row_is_bold_whoever_it_is():
    markdown = compare.render_markdown(_raw())
    head = _cells(markdown, "| workload")
    assert head[2:5] == ["fastmlp", "PyTorch", "JAX scan"]
    w2, p1 = _cells(markdown, "| W2 train"), _cells(markdown, "| P1 predict")
    assert w2[2:5] == ["86k", "70k (1.23×)", "**94k** (0.91×)"]  # JAX scan wins W2: fastmlp is not bold
    assert p1[2:5] == ["**13.4 µs**", "46.2 µs (3.45×)", "failed"]  # lower is better; a failure never wins
    assert "quick run" not in markdown


def test_a_quick_run_says_so_in_its_table_and_its_chart(tmp_path, monkeypatch):
    markdown = compare.render_markdown(_raw("quick"))
    headings = [line for line in markdown.splitlines() if line.startswith(("# ", "## ", "Targets"))]
    assert headings[:2] == [f"# fastmlp compared {compare.QUICK_NOTE}", f"## 1 thread {compare.QUICK_NOTE}"]
    assert all(compare.QUICK_NOTE in line for line in headings)
    figure = pytest.importorskip("matplotlib.figure")
    titles = []
    real_savefig = figure.Figure.savefig

    def savefig(fig, *args, **kwargs):
        titles.append(fig._suptitle.get_text())
        return real_savefig(fig, *args, **kwargs)

    monkeypatch.setattr(figure.Figure, "savefig", savefig)
    assert compare.render_chart(_raw("quick"), str(tmp_path / "quick.png")) is None
    assert compare.render_chart(_raw(), str(tmp_path / "full.png")) is None
    assert compare.QUICK_NOTE in titles[0].splitlines()[0] and "quick run" not in titles[1]


def test_an_earlier_run_is_rendered_again_without_measuring(tmp_path):
    raw = _raw()
    with open(tmp_path / "compare.json", "w") as f:
        json.dump(raw, f)
    assert compare.main(["--render", str(tmp_path / "compare.json"), "--out", str(tmp_path / "again"), "--silent"]) == 0
    assert "**94k**" in (tmp_path / "again" / "compare.md").read_text()


def test_missing_peer_is_a_note_not_an_error(monkeypatch):
    real = compare.importlib.util.find_spec
    monkeypatch.setattr(compare.importlib.util, "find_spec", lambda name: None if name == "torch" else real(name))
    ok, notes = compare._available(["fastmlp", "torch", "numpy"])
    assert ok == ["fastmlp", "numpy"]
    assert len(notes) == 1 and "PyTorch" in notes[0]


def test_ratios_and_floor_fractions():
    raw = {
        "meta": {}, "notes": [],
        "floors": {"1": {"floors": {"W2": {"exact": 200.0, "exact_at_best_rate": 250.0, "design": 300.0},
                                    "P1": {"exact": 5.0, "exact_at_best_rate": 4.0, "design": 4.0}}}},
        "runs": {"1": {
            "W2": {"fastmlp": {"value": 150.0, "higher_is_better": True},
                   "torch": {"value": 100.0, "higher_is_better": True}},
            "P1": {"fastmlp": {"value": 10.0, "higher_is_better": False},
                   "torch": {"value": 40.0, "higher_is_better": False}},
        }},
    }  # fmt: skip
    summary = compare.summarise(raw)["summary"]["1"]
    assert summary["W2"]["speedup"]["torch"] == pytest.approx(1.5)
    assert summary["W2"]["fraction_exact"] == pytest.approx(0.75)
    assert summary["P1"]["speedup"]["torch"] == pytest.approx(4.0)  # latency: peer time / fastmlp time
    assert summary["P1"]["fraction_exact"] == pytest.approx(0.5)


def test_arguments():
    args = compare.parse_args(["--quick", "--peers", "jax", "numpy", "--workloads", "P1", "W1"])
    assert args.threads == [1] and args.rounds == 1
    assert args.peers == ["jax-step", "jax-scan", "numpy"]
    assert args.workloads == ["W1", "P1"]
    assert compare.plan(args) == [("W1", ["relu", "tanh", "sigmoid"]), ("P1", ["relu"])]
    defaults = compare.parse_args([])
    assert defaults.threads == [1, 2] and defaults.rounds == 3 and defaults.activations == ["relu", "tanh", "sigmoid"]
    assert [w for w, _ in compare.plan(defaults)] == ["W1", "W2", "W3", "W4", "P1", "P2", "C1"]
    assert dict(compare.plan(defaults))["W4"] == ["relu", "tanh", "sigmoid"]
    assert dict(compare.plan(defaults))["W3"] == ["relu"]
    some = compare.parse_args(["--workloads", "W4", "W1-sigmoid", "W2", "--activations", "tanh", "--rounds", "5"])
    assert compare.plan(some) == [("W1", ["sigmoid"]), ("W2", ["tanh"]), ("W4", ["tanh"])] and some.rounds == 5
    for wrong in (["--peers", "tensorflow"], ["--workloads", "W5"], ["--workloads", "W3-tanh"],
                  ["--workloads", "W1-softplus"], ["--activations", "softplus"], ["--rounds", "0"]):  # fmt: skip
        with pytest.raises(SystemExit):
            compare.parse_args(wrong)


def test_rows_of_a_workload_and_activation():
    assert [compare.row_id("W1", a) for a in ("relu", "tanh", "sigmoid")] == ["W1", "W1-tanh", "W1-sigmoid"]
    assert compare.split_row("W4-sigmoid") == ("W4", "sigmoid") and compare.split_row("W2") == ("W2", "relu")
    assert compare.split_row("C1 warm") == ("C1", "relu")
    assert compare._row_name("W1-tanh") == "W1-tanh train 16-32-32-1 tanh, b 32"
    assert compare._row_name("W4") == "W4 train 4-32-16-4 relu, Adam, full batch"


def _fake_worker(jobs):
    """A stand-in for run_worker: records each job; figures that say which job made them."""

    def run_worker(job, args):
        jobs.append(job)
        if job["task"] == "blas":
            return {"fastmlp": {"source": "threadpoolctl: the BLAS SciPy loads", "library": "openblas"}}
        if job["task"] == "floor":
            return {"error": "not measured here"}
        value = 1000.0 * (1 + len(jobs))
        result = {"value": value, "unit": "samples/s", "higher_is_better": True, "cpu_per_wall": 1.0}
        if job["task"] in compare.TRAINING:
            return {"by_activation": {a: dict(result) for a in job["activations"]}, "env": {}, "versions": {}}
        return result

    return run_worker


def test_implementations_take_turns_round_after_round(monkeypatch):
    real = compare.importlib.util.find_spec
    monkeypatch.setattr(compare.importlib.util, "find_spec", lambda name: None if name == "torch" else real(name))
    jobs = []
    monkeypatch.setattr(compare, "run_worker", _fake_worker(jobs))
    args = compare.parse_args(["--threads", "1", "--workloads", "W1", "W4", "P1", "--activations", "relu", "tanh",
                               "--rounds", "2", "--peers", "fastmlp", "torch", "sklearn", "numpy",
                               "--silent"])  # fmt: skip
    raw = compare.collect(args)
    runs = jobs[2:]  # after the BLAS report and the floor
    assert [(j["task"], j["impl"], tuple(j.get("activations", ()))) for j in runs] == [
        ("W1", "fastmlp", ("relu", "tanh")), ("W1", "sklearn", ("relu", "tanh")), ("W1", "numpy", ("relu", "tanh")),
        ("W1", "fastmlp", ("tanh", "relu")), ("W1", "sklearn", ("tanh", "relu")), ("W1", "numpy", ("tanh", "relu")),
        ("W4", "fastmlp", ("relu", "tanh")), ("W4", "numpy", ("relu", "tanh")),  # no sklearn on W4: its Adam differs
        ("W4", "fastmlp", ("tanh", "relu")), ("W4", "numpy", ("tanh", "relu")),
        ("P1", "fastmlp", ("relu",)), ("P1", "sklearn", ("relu",)), ("P1", "numpy", ("relu",)),
        ("P1", "fastmlp", ("relu",)), ("P1", "sklearn", ("relu",)), ("P1", "numpy", ("relu",)),
    ]  # fmt: skip
    assert any("PyTorch skipped" in note for note in raw["notes"])
    assert any("sklearn has no W4 figures" in note for note in raw["notes"])
    assert raw["meta"]["blas"]["fastmlp"]["library"] == "openblas"
    cells = raw["runs"]["1"]
    assert list(cells) == ["W1", "W1-tanh", "W4", "W4-tanh", "P1"]
    assert set(cells["W4"]) == {"fastmlp", "numpy"}
    assert [r["value"] for r in cells["W1"]["numpy"]["rounds"]] == [6000.0, 9000.0]
    assert cells["W1"]["numpy"]["value"] == 7500.0  # the median of the rounds
    summary = compare.summarise(raw)["summary"]["1"]
    # per round: fastmlp 4000 / numpy 6000, then 7000 / 9000
    assert summary["W1"]["speedup"]["numpy"] == pytest.approx((4 / 6 + 7 / 9) / 2)
    assert summary["W1"]["spread"]["numpy"] == pytest.approx([4 / 6, 7 / 9, 2])
    markdown = compare.render_markdown(raw)
    assert "BLAS of fastmlp's kernels: openblas, from threadpoolctl: the BLAS SciPy loads." in markdown
    assert "| W4 train 4-32-16-4 relu, Adam, full batch | samples/s | " in markdown
    assert "(0.72×, 0.67–0.78)" in markdown


def test_a_failed_round_leaves_the_others():
    ok = {"value": 10.0, "unit": "µs", "higher_is_better": False, "versions": {"x": "1"}}
    cell = compare._aggregate([ok, {"error": "exit 1: boom"}, dict(ok, value=30.0)])
    assert cell["value"] == 20.0 and cell["failed_rounds"] == ["exit 1: boom"] and cell["versions"] == {"x": "1"}
    assert "versions" not in cell["rounds"][0]
    assert compare._aggregate([{"error": "a"}, {"error": "b"}])["error"] == "a"


def test_speed_ups_are_medians_of_the_per_round_ratios():
    def cell(values, higher=True):
        rounds = [{"value": v} for v in values]
        return {"value": sorted(values)[1], "higher_is_better": higher, "rounds": rounds}

    fast, peer = cell([10.0, 20.0, 30.0]), cell([10.0, 40.0, 15.0])  # ratios 1, 0.5, 2; medians' ratio 20 / 15
    assert compare._speedup(fast, peer) == (1.0, 0.5, 2.0, 3)
    fast, peer = cell([10.0, 20.0, 30.0], False), cell([10.0, 40.0, 15.0], False)  # times: peer / fastmlp
    assert compare._speedup(fast, peer) == (1.0, 0.5, 2.0, 3)
    single = {"value": 2.0, "higher_is_better": True}
    assert compare._speedup(single, {"value": 4.0, "higher_is_better": True}) == (0.5, 0.5, 0.5, 1)


def _target_raw():
    meta = {"date": "d", "cpu": "c", "python": "3", "threads": [1], "profile": "full", "rounds": 3,
            "activations": ["relu", "tanh", "sigmoid"], "rows": {"W1": 1, "W2": 2, "W3": 3, "W4": 4}, "p2_rows": 5,
            "w4_epochs": 50, "lr": 0.001, "OPENBLAS_CORETYPE": None, "command": "c",
            "versions": {"fastmlp": "1"}}  # fmt: skip
    samples = {"unit": "samples/s", "higher_is_better": True}
    ms, micro = {"unit": "ms/epoch", "higher_is_better": False}, {"unit": "µs", "higher_is_better": False}
    runs = {
        "W1": {"fastmlp": {"value": 30.0, **samples}, "jax-scan": {"value": 10.0, **samples},
               "torch": {"value": 1.0, **samples}},
        "W1-tanh": {"fastmlp": {"value": 20.0, **samples}, "jax-scan": {"value": 10.0, **samples}},
        "W4": {"fastmlp": {"value": 1.0, **ms}, "jax-scan": {"value": 1.0, **ms}},
        "W4-tanh": {"fastmlp": {"value": 1.0, **ms}, "jax-scan": {"value": 1.6, **ms}, "torch": {"value": 4.0, **ms}},
        "W4-sigmoid": {"fastmlp": {"value": 1.0, **ms}, "jax-scan": {"value": 1.4, **ms}},
        "P1": {"fastmlp": {"value": 10.0, **micro}, "numpy": {"value": 16.0, **micro},
               "torch": {"value": 41.0, **micro}},
    }  # fmt: skip
    return compare.summarise({"meta": meta, "notes": [], "floors": {}, "runs": {"1": runs}})


def test_targets_cover_every_activation_w4_and_the_numpy_forward():
    table = compare.render_targets(_target_raw(), "1")
    rows = {tuple(c.strip() for c in line.strip("|").split("|")[:2]): line for line in table if line.startswith("| ")}
    assert rows[("W1", "≥ 2.5× JAX whole-epoch scan")].endswith("| 3.00× JAX scan | yes |")
    assert rows[("W1-tanh", "≥ 2.5× JAX whole-epoch scan")].endswith("| 2.00× JAX scan | **no** |")
    assert rows[("W1", "≥ 20× PyTorch eager")].endswith("| yes |")
    # PyTorch did not run there: the target is listed all the same
    assert rows[("W1-tanh", "≥ 20× PyTorch eager")].endswith("| not measured (PyTorch has no figure) | — |")
    assert rows[("W4-tanh", "≥ 1.5× JAX lax.scan per epoch")].endswith("(time ratio 0.62) | yes |")
    assert rows[("W4-sigmoid", "≥ 1.5× JAX lax.scan per epoch")].endswith("(time ratio 0.71) | **no** |")
    assert rows[("W4-tanh", "≥ 5× PyTorch per epoch")].endswith("| 4.00× PyTorch (time ratio 0.25) | **no** |")
    assert not any(key[0] == "W4" for key in rows)  # no target for relu's W4
    # P1 at 10 µs against NumPy's 16 µs: a time ratio of 0.62, over the 0.6 asked for
    assert rows[("P1", "latency ≤ 0.6× the NumPy forward's")].endswith("| 1.60× NumPy (time ratio 0.62) | **no** |")
    assert rows[("P1", "latency ≤ 0.25× PyTorch's")].endswith("(time ratio 0.24) | yes |")


def test_blas_of_fastmlp_from_its_own_report_or_threadpoolctl(monkeypatch):
    pytest.importorskip("threadpoolctl")
    import fastmlp

    monkeypatch.delattr(fastmlp, "blas_info", raising=False)
    found = compare._worker_blas({}, None)
    assert found["fastmlp"]["source"] == "threadpoolctl: the BLAS SciPy loads"
    assert found["fastmlp"]["version"] and found["fastmlp"]["path"]
    assert found["numpy"]["path"]
    report = {"library": "openblas", "path": "/lib/libopenblas.so", "version": "0.3.30", "threads": 2}
    monkeypatch.setattr(fastmlp, "blas_info", lambda: report, raising=False)
    assert compare._worker_blas({}, None)["fastmlp"] == {"source": "fastmlp.blas_info()", **report}

    def broken():
        raise RuntimeError("no BLAS")

    monkeypatch.setattr(fastmlp, "blas_info", broken, raising=False)
    fallback = compare._worker_blas({}, None)
    assert fallback["fastmlp"]["source"] == "threadpoolctl: the BLAS SciPy loads"
    assert "no BLAS" in fallback["fastmlp_error"]


def test_a_run_of_fastmlp_alone_has_no_chart_and_no_error(tmp_path):
    raw = {"meta": {}, "notes": [], "floors": {},
           "runs": {"1": {"W1": {"fastmlp": {"value": 1.0, "higher_is_better": True}}}}}  # fmt: skip
    assert compare.render_chart(raw, str(tmp_path / "chart.png")) == "no peer ran: no chart"
    assert not (tmp_path / "chart.png").exists()
