"""The package's structure: the import graph, the one engine over the kernels, and the declared public surface."""

import ast
import importlib
import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import fastmlp

PACKAGE = Path(fastmlp.__file__).resolve().parent

# The only modules outside fastmlp._jit that may import the kernels: the engine, and the table of kernel codes.
KERNEL_IMPORTERS = {"fastmlp._engine", "fastmlp._codes"}


def _module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name):
    relative = Path(*name.split("."))
    root = PACKAGE.parent
    return (root / relative.with_suffix(".py")).exists() or (root / relative / "__init__.py").exists()


def _import_graph():
    """Module -> the fastmlp modules it imports anywhere in its text (function-level imports included)."""
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        name = _module_name(path)
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if target.startswith("fastmlp"):
                    deps.add(target)
                    deps.update(f"{target}.{a.name}" for a in node.names if _is_module(f"{target}.{a.name}"))
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name.startswith("fastmlp"))
        # A module's own parent packages are always imported first; that is not a dependency of its making.
        ancestors = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
        graph[name] = deps - ancestors - {name}
    return graph


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_import_graph_has_no_cycles():
    graph = _import_graph()
    assert len(graph) > 20  # the scan found the package
    assert _cycles(graph) == []


def test_a_cycle_is_found_when_there_is_one():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_only_the_engine_and_the_code_tables_import_the_kernels():
    importers = {
        name
        for name, deps in _import_graph().items()
        if not name.startswith("fastmlp._jit") and any(d.startswith("fastmlp._jit") for d in deps)
    }
    assert importers == KERNEL_IMPORTERS


def test_no_kernel_takes_a_long_argument_list():
    # Layout, workspaces and optimizer vectors travel as tuples, so no kernel signature runs to dozens of positions.
    import fastmlp._jit

    widest = 0
    for info in pkgutil.iter_modules(fastmlp._jit.__path__):
        module = importlib.import_module(f"fastmlp._jit.{info.name}")
        for value in vars(module).values():
            py_func = getattr(value, "py_func", None)
            if py_func is not None and py_func.__module__ == module.__name__:
                widest = max(widest, len(inspect.signature(py_func).parameters))
    assert 10 <= widest <= 18


def _public_modules():
    names = []
    for path in PACKAGE.rglob("*.py"):
        name = _module_name(path)
        if not any(part.startswith("_") for part in name.split(".")[1:]):
            names.append(name)
    return sorted(names)


@pytest.mark.parametrize("name", _public_modules())
def test_every_public_module_declares_its_public_names(name):
    if name.startswith("fastmlp.estimators") or name == "fastmlp.dask":
        pytest.importorskip("sklearn" if "estimators" in name else "dask")
    module = importlib.import_module(name)
    assert isinstance(module.__all__, list) and module.__all__
    for public in module.__all__:
        assert getattr(module, public) is not None, public


def test_the_estimators_are_public_but_load_lazily():
    assert {"MLPClassifier", "MLPRegressor"} <= set(fastmlp.__all__)
    assert {"MLPClassifier", "MLPRegressor"} <= set(dir(fastmlp))
    code = (
        "import sys, fastmlp; assert 'sklearn' not in sys.modules; fastmlp.MLPRegressor; "
        "assert 'sklearn' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _run_fresh(code):
    """Run ``code`` in a fresh interpreter (the test's environment, its NUMBA_CACHE_DIR included)."""
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)


def test_numbas_set_up_does_not_import_scipy_linalg():
    # Numba's first compile (here a one-loop kernel) would import scipy.linalg through numba.np.arraymath's
    # check for a BLAS: a fifth of a short process's time. The check must still find SciPy's BLAS, and be Numba's
    # own again afterwards.
    _run_fresh(
        "import sys, numpy as np, fastmlp, fastmlp._engine as e\n"
        "assert e.all_finite(np.ones(3))\n"
        "import numba.np.arraymath as arraymath, numba.np.linalg as linalg\n"
        "assert 'scipy.linalg' not in sys.modules, 'scipy.linalg was imported'\n"
        "assert arraymath._HAVE_BLAS is True\n"
        "assert arraymath.ensure_blas is linalg.ensure_blas\n"
        "assert linalg.ensure_blas.__module__ == 'numba.np.linalg', linalg.ensure_blas\n"
    )


def test_a_users_own_numba_linear_algebra_still_works():
    # np.convolve takes its BLAS path only where numba.np.arraymath's check found SciPy's BLAS at import.
    _run_fresh(
        "import numba, numpy as np, fastmlp\n"
        "dot = numba.njit(lambda a, b: np.dot(a, b))\n"
        "convolve = numba.njit(lambda a, b: np.convolve(a, b))\n"
        "a = np.arange(12.0).reshape(3, 4)\n"
        "assert np.array_equal(dot(a, a.T), a @ a.T)\n"
        "assert np.allclose(convolve(a[0], a[1]), np.convolve(a[0], a[1]))\n"
    )


def test_a_dense_array_is_not_sparse_without_importing_scipy_sparse():
    _run_fresh(
        "import sys, numpy as np, fastmlp._validation as v\n"
        "assert not v.is_sparse(np.ones((2, 2)))\n"
        "assert 'scipy.sparse' not in sys.modules\n"
        "import scipy.sparse\n"
        "assert v.is_sparse(scipy.sparse.csr_matrix(np.ones((2, 2))))\n"
    )


def test_scipys_blas_is_found_from_its_files(monkeypatch, tmp_path):
    import importlib.machinery
    import types

    from fastmlp import _numba_startup

    assert _numba_startup._scipy_cython_blas_installed()  # this environment's SciPy wheel
    fake = types.SimpleNamespace(submodule_search_locations=[str(tmp_path)])
    monkeypatch.setattr(_numba_startup.importlib.util, "find_spec", lambda name: fake)
    (tmp_path / "linalg").mkdir()
    assert not _numba_startup._scipy_cython_blas_installed()  # a SciPy whose extensions live elsewhere
    (tmp_path / "linalg" / ("cython_blas" + importlib.machinery.EXTENSION_SUFFIXES[0])).touch()
    assert _numba_startup._scipy_cython_blas_installed()
    monkeypatch.setattr(_numba_startup.importlib.util, "find_spec", lambda name: None)
    assert not _numba_startup._scipy_cython_blas_installed()  # no SciPy


@pytest.mark.parametrize("found", [True, False])
def test_numbas_blas_check_is_answered_from_the_files_or_by_numba_itself(monkeypatch, found):
    from fastmlp import _numba_startup

    calls = []

    def numbas_own_check():
        calls.append("numba")
        raise ImportError("scipy 0.16+ is required for linear algebra")

    monkeypatch.setattr(_numba_startup, "_scipy_cython_blas_installed", lambda: found)
    check = _numba_startup._check_from_files(numbas_own_check, lambda: calls.append("int width"))
    if found:
        check()
        assert calls == ["int width"]
    else:  # another layout, or no SciPy: Numba's own check decides, and its ImportError reaches Numba
        with pytest.raises(ImportError, match="scipy"):
            check()
        assert calls == ["numba"]
