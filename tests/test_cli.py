"""The command line: ``python -m fastmlp demo`` and its exit codes."""

import re
import subprocess
import sys

from fastmlp.cli import main


def test_demo_runs_and_the_mlp_beats_the_linear_model():
    result = subprocess.run(
        [sys.executable, "-m", "fastmlp", "demo", "--epochs", "30"], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr
    assert "epoch 30/30" in result.stdout  # progress per epoch
    summary = re.search(r"summary: linear model ([\d.]+)%, MLP ([\d.]+)% test accuracy", result.stdout)
    assert summary, result.stdout
    linear, mlp = map(float, summary.groups())
    assert linear < 75 and mlp > 95


def test_quiet_demo_prints_only_the_summary(capsys):
    assert main(["demo", "--quiet", "--epochs", "2", "--samples", "200"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("summary:")


def test_usage_errors_exit_with_2(capsys):
    assert main([]) == 2
    for argv in (["demo", "--epochs", "0"], ["demo", "--epochs", "x"], ["nonsense"]):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse exits on its own usage errors
            code = exc.code
        assert code == 2, argv
    assert "usage:" in capsys.readouterr().err
