"""``fastmlp info``: describe a model file, as aligned ``key: value`` lines or as its JSON header.

Without a model file it describes the installation instead: the versions of fastmlp, NumPy, Numba and SciPy, the
BLAS library the kernels call (and how it was chosen), its thread counts and the compile cache.

Notes
-----
The file is read with :func:`fastmlp.io.load_with_metadata`, so a damaged or forged file is refused (exit status
1) before anything is printed.
"""

import json
import os
import platform

from ..io import load_with_metadata
from .common import EXIT_OK, check_input_file

__all__ = ["run_info"]

METADATA_WIDTH = 200
"""Characters of a metadata value or an array shown by ``info`` (``--json`` shows them whole)."""


def _installation():
    """The installation's description, as ``(key, value)`` pairs."""
    import numba
    import numpy
    import scipy

    from .. import __version__
    from ..threads import blas_info, get_num_threads

    blas = blas_info()
    requested = blas["requested"]
    if requested != "auto":
        how = "FASTMLP_BLAS=" + requested
    else:
        how = "auto: " + blas.get("note", "MKL when installed, except on AMD processors; else OpenBLAS")
    return [
        ("fastmlp", __version__),
        ("python", platform.python_version()),
        ("numpy", numpy.__version__),
        ("numba", numba.__version__),
        ("scipy", scipy.__version__),
        ("blas", f"{blas['library']} ({how})"),
        ("blas.version", blas["version"]),
        ("blas.path", blas["path"]),
        ("threads", ", ".join(f"{name} {n}" for name, n in sorted(get_num_threads().items()))),
        ("cpus", str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())),
        ("cache", os.environ.get("NUMBA_CACHE_DIR") or "beside the installed kernels (NUMBA_CACHE_DIR unset)"),
    ]


def _print_lines(lines):
    width = max(len(key) for key, _ in lines) + 1
    for key, value in lines:
        print(f"{key + ':':<{width}} {value}")


def run_info(args):
    """Run ``fastmlp info``; return the exit status."""
    if args.model is None:
        lines = _installation()
        if args.json:
            print(json.dumps(dict(lines), indent=2, ensure_ascii=False))
        else:
            _print_lines(lines)
        return EXIT_OK
    check_input_file(args.model)
    _, header = load_with_metadata(args.model)
    arrays = getattr(header, "arrays", {})
    if args.json:
        shown = dict(header)
        if arrays:  # the declarations, each with its values
            shown["arrays"] = {name: {**header["arrays"][name], "values": a.tolist()} for name, a in arrays.items()}
        print(json.dumps(shown, indent=2, ensure_ascii=False))
        return EXIT_OK
    sizes = header["sizes"]
    training = header["training"]
    lines = [
        ("file", args.model),
        ("format", f"{header['format']} version {header['format_version']}, written by fastmlp "
                   f"{header['fastmlp_version']} on {header['created']}"),
        ("layers", f"{'-'.join(map(str, sizes))} ({len(sizes) - 2} hidden)"),
        ("activations", f"hidden {', '.join(header['hidden']) or '(none)'}; output {header['output']}"),
        ("loss", header["loss"]),
        ("dtype", header["dtype"]),
        ("bias", "yes" if header["bias"] else "no"),
        ("init", ", ".join(header["init"])),
        ("parameters", f"{header['n_params']} (sha256 {header['sha256'][:16]}...)"),
        ("training", "none recorded" if training is None else
                     f"{training['epochs']} epochs, {training['samples_seen']} samples seen, {training['optimizer']}"),
    ]  # fmt: skip
    shown = [(f"metadata.{key}", json.dumps(value, ensure_ascii=False)) for key, value in header["metadata"].items()]
    for name, a in arrays.items():
        shown.append((f"array.{name}", f"{a.dtype.str} shape {a.shape}: {json.dumps(a.tolist(), ensure_ascii=False)}"))
    for key, text in shown:
        lines.append((key, text if len(text) <= METADATA_WIDTH else text[: METADATA_WIDTH - 3] + "..."))
    _print_lines(lines)
    return EXIT_OK
