"""The release artefacts: the sdist and the wheel carry the licence, and the sdist's test suite collects and runs.

The build runs on a copy of the checkout, so that it neither reads stale ``build/`` output nor writes into the
checkout. ``python -m build`` without ``--sdist``/``--wheel`` builds the wheel from the unpacked sdist, so a file
that the sdist forgets and the wheel needs fails the build here. Running the sdist's whole suite would take as long
as the suite itself; it is collected instead (every module imports, every fixture and helper it imports is there)
and one small file of it runs.
"""

import email.parser
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.install, pytest.mark.subprocess]

REPO = Path(__file__).resolve().parents[1]
# Build outputs and caches: a copy of them would go into the sdist (graft tests) or be read back by the build.
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".asv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis", "*.nbi", "*.nbc",
    ".venv", "venv", ".tox", ".nox",
)  # fmt: skip
# What a docs build leaves in the checkout: MANIFEST.in must keep it out of the sdist (graft docs would take it).
DOCS_OUTPUTS = ["docs/_build/html/index.html", "docs/_generated/tutorial-1.png", "docs/api/generated/fastmlp.io.rst"]
BUILD_TIMEOUT = 600
RUN_TIMEOUT = 900
# Files that tests import or read: without them the sdist's suite fails at collection.
SDIST_NEEDS = ["tests/__init__.py", "tests/conftest.py", "tests/reference.py", "bench/__init__.py", "LICENSE"]


def _environ(**extra):
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"}}
    env.update(extra)
    return env


def _run(argv, what, **kwargs):
    done = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, (
        f"{what} failed with exit {done.returncode}\n"
        f"--- stdout\n{done.stdout[-6000:]}\n--- stderr\n{done.stderr[-6000:]}"
    )
    return done


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory):
    pytest.importorskip("build")
    root = tmp_path_factory.mktemp("packaging")
    source = root / "src"
    shutil.copytree(REPO, source, ignore=COPY_IGNORE)
    for name in DOCS_OUTPUTS:  # present whether or not the docs were built in this checkout
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text("a build output\n")
    dist = root / "dist"
    _run([sys.executable, "-m", "build", "--outdir", str(dist), str(source)], "python -m build",
         env=_environ(), cwd=root, timeout=BUILD_TIMEOUT)  # fmt: skip
    (sdist,) = dist.glob("fastmlp-*.tar.gz")
    (wheel,) = dist.glob("fastmlp-*.whl")
    return root, sdist, wheel


def _sdist_members(sdist):
    """The sdist's file names relative to its top folder (``fastmlp-<version>/``)."""
    with tarfile.open(sdist) as tar:
        names = [m.name for m in tar.getmembers() if m.isfile()]
    top = {name.split("/")[0] for name in names}
    assert len(top) == 1, f"the sdist has more than one top-level folder: {sorted(top)}"
    return {name.split("/", 1)[1] for name in names}


def test_the_wheel_carries_the_licence_and_only_the_package(artefacts):
    _, _, wheel = artefacts
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        (licence,) = [n for n in names if re.fullmatch(r"fastmlp-[^/]+\.dist-info/licenses/LICENSE", n)]
        assert zf.read(licence) == (REPO / "LICENSE").read_bytes()
        (metadata,) = [n for n in names if re.fullmatch(r"fastmlp-[^/]+\.dist-info/METADATA", n)]
        headers = email.parser.Parser().parsestr(zf.read(metadata).decode())
    assert headers["License-Expression"] == "BSD-3-Clause"
    assert headers.get_all("License-File") == ["LICENSE"]
    assert headers["Author"] == "the fastmlp developers"
    assert {url.split(",")[0] for url in headers.get_all("Project-URL")} >= {"Homepage", "Documentation", "Source"}
    # Installing the wheel must not put top-level `tests` or `bench` packages into site-packages.
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"fastmlp"}
    assert "fastmlp/py.typed" in names and "fastmlp/_jit/train.py" in names


def test_the_sdist_carries_the_licence_and_the_whole_test_suite(artefacts):
    _, sdist, _ = artefacts
    members = _sdist_members(sdist)
    missing = [name for name in SDIST_NEEDS if name not in members]
    assert not missing, f"the sdist lacks {missing}"
    present = {str(p.relative_to(REPO)) for p in (REPO / "tests").rglob("*.py") if "__pycache__" not in p.parts}
    assert present <= members, f"test files left out of the sdist: {sorted(present - members)}"
    assert not [name for name in members if "__pycache__" in name or name.endswith((".pyc", ".nbi", ".nbc"))]
    assert not [name for name in members if name in DOCS_OUTPUTS], "docs build outputs went into the sdist"
    assert {"docs/conf.py", "docs/tutorial.rst", "docs/_ext/fastmlp_docs.py"} <= members  # the sources did


def _collected(done):
    """The number pytest prints in ``N tests collected``."""
    found = re.search(r"^(\d+) tests? collected", done.stdout, re.MULTILINE)
    assert found, f"no 'N tests collected' line in\n{done.stdout[-3000:]}"
    return int(found.group(1))


def test_the_sdist_test_suite_collects_and_runs(artefacts):
    root, sdist, _ = artefacts
    unpacked = root / "unpacked"
    with tarfile.open(sdist) as tar:
        # The "data" filter refuses absolute paths and links out of the folder; Pythons before 3.10.12 lack it.
        tar.extractall(unpacked, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    (tree,) = unpacked.iterdir()
    # A private compile cache: kernels compiled from the unpacked copy would otherwise be indexed in the suite's.
    env = _environ(PYTHONPATH=str(tree), NUMBA_CACHE_DIR=str(root / "numba-cache"))
    collect = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    in_sdist = _run(collect, "collecting the sdist's tests", cwd=tree, env=env, timeout=RUN_TIMEOUT)
    # The same collection from the checkout: a test file, helper or data the sdist lacks would show as a difference.
    in_checkout = _run(collect, "collecting the checkout's tests", cwd=REPO, env=_environ(PYTHONPATH=str(REPO)),
                       timeout=RUN_TIMEOUT)  # fmt: skip
    n = _collected(in_sdist)
    assert n > 500
    assert n == _collected(in_checkout)
    # Collection imports the tests; one file that runs shows that the unpacked package computes.
    ran = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_forward.py"],
               "tests/test_forward.py from the sdist", cwd=tree, env=env, timeout=RUN_TIMEOUT)  # fmt: skip
    assert re.search(r"^\d+ passed", ran.stdout.splitlines()[-1]), ran.stdout[-2000:]
    # It must have tested the unpacked copy, not another fastmlp on the path.
    where = _run([sys.executable, "-c", "import fastmlp; print(fastmlp.__file__)"], "import", cwd=tree, env=env)
    assert Path(where.stdout.strip()).resolve().is_relative_to(tree.resolve())
