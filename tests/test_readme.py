"""The README runs as written, and cites nothing outside the repository.

The rule for its examples: the ```python blocks of one top-level section (a ``## `` heading) run in order, in one
fresh interpreter, in an empty temporary directory. Sections share nothing, so a reader can copy any section's
code on its own; within a section a block may use what an earlier block defined. Warnings are errors, as in the rest
of the suite: an example that warns (a deprecation, a convergence warning) is an example to fix.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
FENCE = re.compile(r"^```(\w*)\s*$")
# Sections whose code needs an optional extra: without it they are skipped, with the reason named.
NEEDS = {"Training": ["matplotlib"], "scikit-learn estimators": ["sklearn"]}
SECTION_TIMEOUT = 300
# Paths the README names as outputs of a command (the docs build, bench.compare), not as files of the repository.
OUTPUTS = ("build/", "docs/_build/")


def readme_sections(text):
    """``[(title, [(line number, code), ...]), ...]``: the python blocks of each ``## `` section, in order."""
    sections, title, language, start, lines = [], None, None, 0, []
    for number, line in enumerate(text.splitlines(), 1):
        fence = FENCE.match(line)
        if language is None:
            if fence:
                language, start, lines = fence.group(1), number + 1, []
            elif line.startswith("## "):
                title = line[3:].strip()
                sections.append((title, []))
        elif fence and not fence.group(1):
            if language == "python":
                # A block before the first heading would belong to no section and never run.
                assert sections, f"README.md line {start}: a python block before the first '## ' heading"
                sections[-1][1].append((start, "\n".join(lines) + "\n"))
            language = None
        else:
            lines.append(line)
    assert language is None, f"README.md: the block opened at line {start - 1} is never closed"
    return [(title, blocks) for title, blocks in sections if blocks]


SECTIONS = readme_sections(README.read_text(encoding="utf-8"))


def test_the_readme_has_the_examples_this_file_runs():
    # Guards against a parser that silently finds nothing (the parametrized test would then run zero cases).
    titles = [title.split(":")[0] for title, _ in SECTIONS]
    assert titles[:4] == ["A tour", "Training", "scikit-learn estimators", "Saving, loading and the command line"]
    assert sum(len(blocks) for _, blocks in SECTIONS) >= 4


@pytest.mark.subprocess
@pytest.mark.parametrize(("title", "blocks"), SECTIONS, ids=[title.split(":")[0] for title, _ in SECTIONS])
def test_readme_section_runs(title, blocks, tmp_path):
    for module in NEEDS.get(title.split(":")[0], []):
        pytest.importorskip(module)
    # Each block is prefixed with its README line so that a traceback can be traced back to the README.
    script = "".join(f"# README.md line {line}\n{code}" for line, code in blocks)
    path = tmp_path / "readme_section.py"
    path.write_text(script, encoding="utf-8")
    env = dict(os.environ, MPLBACKEND="Agg")  # History.plot() must not need a display
    # The checkout's fastmlp, as in the rest of the suite, not another one installed in the environment.
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    done = subprocess.run(
        [sys.executable, "-W", "error", str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=SECTION_TIMEOUT,
    )
    assert done.returncode == 0, (
        f"README section {title!r} failed (exit {done.returncode})\n--- script\n{script}\n"
        f"--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-6000:]}"
    )


def _tracked_roots():
    """The top-level names a README path may start with: what the repository has at its root."""
    return {p.name for p in REPO.iterdir() if p.name not in {".git", "build", "dist"} and not p.name.endswith("info")}


def test_every_path_the_readme_cites_exists():
    text = README.read_text(encoding="utf-8")
    roots = _tracked_roots()
    cited = set()
    # Markdown links and images to relative targets.
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if not re.match(r"[a-z]+:", target) and not target.startswith("#"):
            cited.add(target.split("#")[0])
    # Code spans naming a file or folder of the repository (`fastmlp/io.py`, `tests/`, `.ci/run`, `CHANGELOG.md`).
    for span in re.findall(r"`([^`\s]+)`", text):
        first = span.split("/")[0]
        if first in roots and (span != first or "." in first):
            cited.add(span)
    assert {"fastmlp/io.py", "CHANGELOG.md", "tests/test_estimators.py", "docs/"} <= cited  # the scan sees paths
    missing = sorted(path for path in cited if not path.startswith(OUTPUTS) and not (REPO / path).exists())
    assert not missing, f"README.md cites paths that are not in the repository: {missing}"


def test_the_readme_cites_no_document_outside_the_repository():
    text = README.read_text(encoding="utf-8")
    # Any Markdown file it names must be here; "issue N" points at a tracker the repository does not carry.
    named = set(re.findall(r"\b[\w./-]+\.md\b", text))
    missing = sorted(name for name in named if not name.startswith(OUTPUTS) and not (REPO / name).exists())
    assert not missing, f"README.md names documents that are not in the repository: {missing}"
    assert not re.search(r"\bissues? #?\d+", text, re.IGNORECASE), "README.md cites an issue by number"
    assert "../" not in text, "README.md points outside the repository"
