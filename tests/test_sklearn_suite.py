"""scikit-learn's own test file for its MLP, run unchanged against fastmlp's estimators."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sklearn")

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.subprocess
def test_scikit_learns_mlp_tests_pass_against_fastmlp(tmp_path):
    from tests import sklearn_drop_in

    # In a directory of its own, so that this project's pytest settings (warnings as errors) do not apply.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--pyargs", "sklearn.neural_network.tests.test_mlp", "-p",
         "tests.sklearn_drop_in", "-q", "-p", "no:cacheprovider", "-rsx"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    summary = result.stdout.strip().splitlines()[-1]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|skipped|xfailed|xpassed|error)", summary)}
    assert counts.get("failed", 0) == counts.get("error", 0) == counts.get("xpassed", 0) == 0, summary
    assert counts["passed"] >= 50, summary  # the file holds 59 tests today
    assert counts["skipped"] == len(sklearn_drop_in.PRIVATE_STATE), summary  # the private-state tests, no others
