"""Executing and rendering notebooks: the kernel, papermill's settings, the HTML page.

Shared by :func:`fairaudit.cli.run_study` and :func:`refresh_notebook` (which
re-executes a committed notebook in place, for maintainers).
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path

from fairaudit._io import OUTPUT_ROOT_ENV, write_text_atomic

__all__ = ["KERNEL_ENV", "TEMPLATES", "code_cells", "execute", "kernel_manager_class",
           "progress_hook", "quiet_kernel_logging", "refresh_notebook", "render_html"]  # fmt: skip

#: Environment every kernel runs with: reproducible hashing, the virtual
#: environment's ``python3`` kernel before any user-wide one, and matplotlib's
#: inline backend (it draws with Agg and puts each figure into the notebook).
KERNEL_ENV = {
    "PYTHONHASHSEED": "0",
    "JUPYTER_PREFER_ENV_PATH": "1",
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
}
TEMPLATES = Path(__file__).parent.parent / "reporting" / "templates"


def quiet_kernel_logging() -> None:
    """Keep papermill's, nbclient's and asyncio's logging off the console: the command reports.

    An interrupted run would otherwise leave stray tracebacks ("Kernel died")
    after the command's own one-line report.
    """
    for name in ("papermill", "nbclient", "asyncio", "traitlets"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def kernel_manager_class(stderr_log: Path | None = None, stop_now=lambda: False):
    """A kernel manager that encrypts the kernel's transport and keeps its stderr to a file.

    Encryption (when ZeroMQ supports it) keeps ipykernel's warning about
    unencrypted TCP out of the output; the kernel's stderr goes to
    ``stderr_log``. When ``stop_now()`` is true (the run was interrupted) the
    kernel's whole process group is killed at once instead of asked to shut
    down, which a kernel busy in a cell would answer only when the cell ends.
    """
    import zmq
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    encrypt = zmq.has("curve")

    class RunKernelManager(AsyncKernelManager):
        @default("transport_encryption")
        def _default_transport_encryption(self):
            return "auto" if encrypt else super()._default_transport_encryption()

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            if stderr_log is not None:
                kw["stderr"] = open(stderr_log, "ab")  # noqa: SIM115 - the kernel owns it
            return await super()._async_launch_kernel(kernel_cmd, **kw)

        async def _async_shutdown_kernel(self, now=False, restart=False):
            return await super()._async_shutdown_kernel(now=now or stop_now(), restart=restart)

        shutdown_kernel = _async_shutdown_kernel

    return RunKernelManager


def progress_hook(label: str, total: int, *, every: float = 5.0):
    """``on_cell_complete`` hook printing one line at most every ``every`` seconds (for logs)."""
    start = last = time.monotonic()
    done = 0

    def hook(cell, cell_index, **_):
        nonlocal last, done
        done += 1
        now = time.monotonic()
        if now - last >= every or done == total:
            last = now
            print(f"  {label}: code cell {done} of {total} ({now - start:.0f} s)", flush=True)

    return hook


def code_cells(notebook: str | os.PathLike) -> int:
    """Code cells a run executes: the notebook's, plus papermill's injected parameters."""
    import nbformat

    cells = nbformat.read(str(notebook), as_version=4).cells
    return sum(c.cell_type == "code" and bool(c.source.strip()) for c in cells) + 1


def execute(notebook, executed, env: dict, **kwargs) -> None:
    """Run papermill on ``notebook`` into ``executed``, from the notebook's folder, with ``env``."""
    from unittest import mock

    import papermill

    quiet_kernel_logging()
    with mock.patch.dict(os.environ, {**KERNEL_ENV, **env}):
        papermill.execute_notebook(
            str(notebook), str(executed), progress_bar=kwargs.pop("progress_bar", False),
            log_output=False, cwd=str(Path(notebook).parent), **kwargs,
        )  # fmt: skip


def render_html(notebook: str | os.PathLike) -> str:
    """An executed notebook as one self-contained HTML page (JupyterLab's look, offline).

    Images are embedded; the scripts nbconvert's ``lab`` template would fetch
    from a CDN (require.js, MathJax, Mermaid) and saved widget state are left
    out, so the page opens without a network.
    """
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", embed_images=True,
                            template_file=str(TEMPLATES / "notebook.html.j2"))  # fmt: skip
    nb = nbformat.read(str(notebook), as_version=4)
    nb.metadata.pop("widgets", None)
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": Path(notebook).stem}})
    return body


def refresh_notebook(notebook: str | os.PathLike, *, kernel_name: str = "python3") -> Path:
    """Re-execute a committed notebook in place with its defaults, as nbval re-runs it.

    Papermill's volatile metadata is stripped so the diff shows only real
    changes; the file is replaced only if every cell succeeds (else papermill's
    ``PapermillExecutionError``, and the committed file is left as it was).
    """
    import nbformat

    notebook = Path(notebook).resolve()
    with tempfile.TemporaryDirectory(prefix="fairaudit-refresh-") as tmp:
        executed = Path(tmp) / notebook.name
        execute(
            notebook,
            executed,
            {OUTPUT_ROOT_ENV: tmp},
            kernel_name=kernel_name,
            kernel_manager_class=kernel_manager_class(Path(tmp) / "kernel-stderr.log"),
        )
        nb = nbformat.read(str(executed), as_version=4)
        nb.metadata.pop("papermill", None)
        for cell in nb.cells:
            cell.metadata.pop("papermill", None)
            cell.metadata.pop("execution", None)
            if cell.metadata.get("tags") == []:  # papermill adds empty tag lists
                del cell.metadata["tags"]
        nbformat.validate(nb)
        write_text_atomic(notebook, nbformat.writes(nb) + "\n")
    return notebook
