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
    for line, row in zip(table, ("W1", "P1"), strict=True):
        cells = [c.strip() for c in line.strip("|").split("|")]
        fast, peer = runs[row]["fastmlp"]["value"], runs[row]["numpy"]["value"]
        numpy_wins = peer > fast if runs[row]["fastmlp"]["higher_is_better"] else peer < fast
        bold = [cell.startswith("**") for cell in cells[2:4]]
        assert bold == ([False, True] if numpy_wins else [True, False]), (line, fast, peer)  # the winner, not us
        assert "×)" in cells[3] and "×" not in cells[2]  # NumPy's figure with fastmlp's speed-up over it
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
