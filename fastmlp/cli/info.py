"""``fastmlp info``: describe a model file, as aligned ``key: value`` lines or as its JSON header.

Notes
-----
The file is read with :func:`fastmlp.io.load_with_metadata`, so a damaged or forged file is refused (exit status
1) before anything is printed.
"""

import json

from ..io import load_with_metadata
from .common import EXIT_OK, check_input_file

__all__ = ["run_info"]

METADATA_WIDTH = 200
"""Characters of a metadata value or an array shown by ``info`` (``--json`` shows them whole)."""


def run_info(args):
    """Run ``fastmlp info``; return the exit status."""
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
    width = max(len(key) for key, _ in lines) + 1
    for key, value in lines:
        print(f"{key + ':':<{width}} {value}")
    return EXIT_OK
