"""Execute a notebook headlessly and keep what it showed (the demo and the tests use it).

    nb = execute_notebook(path, env={"HWLIB_SOURCE": "offline", "HWLIB_QUICK": "1"})
    save_outputs(nb, "name", out_dir)      # name.ipynb, name.html, name_figNN.png
    printed_text(nb)                       # everything it printed to stdout
"""
from __future__ import annotations

import base64
import os
from pathlib import Path

HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def without_hidden_tests(source: str) -> str:
    """``source`` without its nbgrader hidden-test blocks (the lines from ``### BEGIN HIDDEN TESTS`` to
    ``### END HIDDEN TESTS``, markers included), as nbgrader's release removes them."""
    kept, hidden = [], False
    for line in source.splitlines(keepends=True):
        if line.strip() == HIDDEN_BEGIN:
            hidden = True
        elif line.strip() == HIDDEN_END:
            hidden = False
        elif not hidden:
            kept.append(line)
    return "".join(kept)


def execute_notebook(path: Path, env: dict[str, str] | None = None, timeout: int = 900, cwd: Path | None = None,
                     hidden_tests: bool = True):
    """Execute ``path`` in a fresh Python kernel and return the executed notebook (raises on the first error).

    ``env`` entries are set in the kernel's environment (e.g. ``HWLIB_SOURCE=offline``, ``HWLIB_QUICK=1``).
    ``hidden_tests=False`` leaves out the hidden-test blocks of a solution notebook (the quick demo: grading is
    shown by its grade tables, and the hidden tests' reference computations are a third of a notebook's time).
    """
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    if not hidden_tests:
        for cell in nb.cells:
            if cell.cell_type == "code" and HIDDEN_BEGIN in cell.source:
                cell.source = without_hidden_tests(cell.source)
    kernel_env = {**os.environ, "MPLBACKEND": "module://matplotlib_inline.backend_inline", **(env or {})}
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(cwd or path.parent)}})
    client.execute(env=kernel_env)
    return nb


def save_outputs(nb, stem: str, out_dir: Path) -> list[Path]:
    """Write ``stem.ipynb``, ``stem.html`` and ``stem_figNN.png`` or ``.jpg`` (one per figure, as the notebook holds
    it) into ``out_dir``."""
    import nbformat
    from nbconvert import HTMLExporter

    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / f"{stem}.ipynb", out_dir / f"{stem}.html"]
    nbformat.write(nb, written[0])
    html, _ = HTMLExporter().from_notebook_node(nb)
    written[1].write_text(html, encoding="utf-8")
    n = 0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            for mime, suffix in (("image/png", "png"), ("image/jpeg", "jpg")):
                if data.get(mime):
                    n += 1
                    path = out_dir / f"{stem}_fig{n:02d}.{suffix}"
                    path.write_bytes(base64.b64decode(data[mime]))
                    written.append(path)
                    break
    return written


def printed_text(nb) -> str:
    """Everything the notebook printed to stdout, in order."""
    return "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")
