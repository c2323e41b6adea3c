"""bench/compare.py runs end to end (a --quick run with fastmlp and NumPy only) and reports what it measured."""

import json
import os
import subprocess
import sys

import pytest

from bench import compare

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = pytest.mark.benchmark


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare")
    cmd = [sys.executable, "-m", "bench.compare", "--quick", "--threads", "1", "--workloads", "W1", "P1",
           "--peers", "fastmlp", "numpy", "--out", str(out)]  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return out, done.stdout


# The two share one --quick run of bench.compare, a process per implementation and workload (~6 s in all).
@pytest.mark.slow
@pytest.mark.subprocess
def test_quick_run_writes_its_outputs(quick_run):
    out, stdout = quick_run
    markdown = (out / "compare.md").read_text()
    assert markdown.strip() in stdout  # the table is printed too
    raw = json.loads((out / "compare.json").read_text())
    assert raw["meta"]["threads"] == [1] and raw["meta"]["profile"] == "quick"
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
    assert set(runs) == {"W1", "P1"}
    for row in ("W1", "P1"):
        for impl in ("fastmlp", "numpy"):
            result = runs[row][impl]
            assert "error" not in result, result
            assert result["value"] > 0
            assert result["env"]["OPENBLAS_NUM_THREADS"] == "1"
        assert raw["summary"]["1"][row]["speedup"]["numpy"] > 0
    assert runs["W1"]["fastmlp"]["unit"] == "samples/s" and runs["P1"]["fastmlp"]["unit"] == "µs"
    assert raw["summary"]["1"]["W1"]["fraction_exact"] > 0  # the floor was measured in the same run
    markdown = (out / "compare.md").read_text()
    table = [line for line in markdown.splitlines() if line.startswith(("| W1 train", "| P1 predict"))]
    assert len(table) == 2
    header = next(line for line in markdown.splitlines() if line.startswith("| workload | unit"))
    assert "fastmlp" in header and "NumPy" in header and "PyTorch" not in header
    for line in table:
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[2].startswith("**") and cells[3][0].isdigit()  # fastmlp's figure, NumPy's with its ratio
        assert "×)" in cells[3]


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
    assert args.threads == [1]
    assert args.peers == ["jax-step", "jax-scan", "numpy"]
    assert args.workloads == ["W1", "P1"]
    assert compare.parse_args([]).threads == [1, 2]
    with pytest.raises(SystemExit):
        compare.parse_args(["--peers", "tensorflow"])


def test_a_run_of_fastmlp_alone_has_no_chart_and_no_error(tmp_path):
    raw = {"meta": {}, "notes": [], "floors": {},
           "runs": {"1": {"W1": {"fastmlp": {"value": 1.0, "higher_is_better": True}}}}}  # fmt: skip
    assert compare.render_chart(raw, str(tmp_path / "chart.png")) == "no peer ran: no chart"
    assert not (tmp_path / "chart.png").exists()
