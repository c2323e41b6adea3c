"""Two Sphinx additions for fastmlp's documentation.

``.. runcode::``
    Runs its Python content while the page is read and shows the code, what it printed and the matplotlib figures it
    drew. The blocks of one page share one namespace, in order, like the cells of a notebook; each page starts
    empty. A block that raises fails the build (the error names the page and the block's line), so the tutorial's
    figures and figures in prose come from the code as shown, computed at build time. Options: ``:hide-code:``
    (show only the output and figures), ``:width:`` (of the figures, e.g. ``80%``).

Public names
    fastmlp documents each class and function once, where it is defined (``fastmlp.model.Model``), and users write
    ``fastmlp.Model``. A reference to a public alias, in a docstring or on a page, is resolved to the documented
    object instead of being reported as missing.
"""

import contextlib
import importlib
import io
import re
import sys
import traceback
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.pycode import ModuleAnalyzer
from sphinx.util.docutils import SphinxDirective

_MISSING = object()
GENERATED = "_generated"  # figures, under the source folder (git-ignored), where Sphinx finds images


class RunCode(SphinxDirective):
    """The ``runcode`` directive (see the module docstring)."""

    has_content = True
    option_spec = {"hide-code": directives.flag, "width": directives.unchanged}

    def run(self):
        """Execute the content in the page's namespace; return the code, its output and its figures as nodes."""
        import matplotlib.pyplot as plt

        namespace = self.env.temp_data.setdefault("runcode_namespace", {"__name__": "__runcode__"})
        code = "\n".join(self.content)
        source, line = self.get_source_info()
        plt.close("all")
        stdout = io.StringIO()
        try:
            with contextlib.redirect_stdout(stdout):
                exec(compile(code, f"{source}:{line + 1}", "exec"), namespace)  # noqa: S102 (the page's own code)
        except Exception:
            raise self.error(f"runcode block at {source}:{line} raised:\n{traceback.format_exc()}") from None
        result = []
        if "hide-code" not in self.options:
            block = nodes.literal_block(code, code, language="python")
            result.append(block)
        printed = stdout.getvalue().rstrip()
        if printed:
            output = nodes.literal_block(printed, printed, language="text", classes=["runcode-output"])
            result.append(output)
        for number in plt.get_fignums():
            count = self.env.temp_data.get("runcode_figures", 0) + 1
            self.env.temp_data["runcode_figures"] = count
            name = f"{self.env.docname.replace('/', '-')}-{count}.png"
            folder = Path(self.env.srcdir) / GENERATED
            folder.mkdir(exist_ok=True)
            plt.figure(number).savefig(folder / name, dpi=110, bbox_inches="tight")
            image = nodes.image(uri=f"/{GENERATED}/{name}", alt=f"figure {count} of {self.env.docname}")
            if "width" in self.options:
                image["width"] = self.options["width"]
            result.append(image)
        plt.close("all")
        return result


def _documented_name(target):
    """``fastmlp.Model.fit`` -> ``fastmlp.model.Model.fit``: where the object a public name points to is defined."""
    parts = target.split(".")
    if parts[0] != "fastmlp":
        return None
    obj = importlib.import_module("fastmlp")
    known, rest = "fastmlp", parts[1:]
    while rest:
        try:
            obj = getattr(obj, rest[0])
        except AttributeError:
            return None
        rest = rest[1:]
        module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
        if isinstance(module, str) and isinstance(qualname, str) and module.startswith("fastmlp"):
            known = f"{module}.{qualname}"
        elif hasattr(obj, "__file__"):
            known = obj.__name__
        else:  # an attribute or a property: its parent's documented name, then its own
            known = f"{known}.{parts[len(parts) - len(rest) - 1]}"
    return None if known == target else known


def _resolve_alias(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"]
    candidates = [target]
    if not target.startswith("fastmlp"):
        # Unqualified (`Model`) or relative (`model.Model`) names in a fastmlp docstring.
        candidates = [f"{node.get('py:module') or 'fastmlp'}.{target}", f"fastmlp.{target}"]
    domain = env.get_domain("py")
    names = [_documented_name(c) for c in candidates] + [c for c in candidates if c != target]
    # Last, a name relative to the module of a docstring shown elsewhere (autosummary's summary of fastmlp.load
    # mentions `save_model` of fastmlp.io): accepted when exactly one documented fastmlp object has that name.
    suffix = "." + target
    matches = [full for full in domain.objects if full.startswith("fastmlp.") and full.endswith(suffix)]
    if len(matches) == 1:
        names.append(matches[0])
    for full in filter(None, names):
        found = domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], full, node, contnode)
        if found is not None:
            return found
    return None


def _skip_member(app, what, name, obj, skip, options):
    # scikit-learn adds set_fit_request & co. to every estimator class; they are its API, documented there.
    if what == "class" and re.fullmatch(r"set_\w+_request", name):
        return True
    return None


def _reexported_data_doc(app, what, name, obj, options, lines):
    # A constant imported into a public module from the private one that assigns it has its doc comment there;
    # autodoc looks only in the public module and falls back to the docstring of the value's type (int's).
    if what != "data" or not name.startswith("fastmlp."):
        return
    attribute = name.rsplit(".", 1)[1]
    for module_name, module in sorted(sys.modules.items()):
        if not module_name.startswith("fastmlp") or getattr(module, attribute, _MISSING) is not obj:
            continue
        docs = ModuleAnalyzer.for_module(module_name).find_attr_docs()
        if ("", attribute) in docs:
            lines[:] = list(docs[("", attribute)])
            return


def setup(app):
    """Register the directive and the event handlers with Sphinx."""
    app.connect("autodoc-process-docstring", _reexported_data_doc)
    app.add_directive("runcode", RunCode)
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("missing-reference", _resolve_alias)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
