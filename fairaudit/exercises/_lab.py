"""Whether a running JupyterLab has a notebook open, from its sessions API.

Lab keeps an open notebook in memory: if the file is replaced behind its back, the next
save can write the old content over the new file. So a working copy is not reset while a
server that serves it has a session (an open notebook with its kernel) on it.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from pathlib import Path


class NotebookOpenError(ValueError):
    """The notebook is open in a running JupyterLab; the message names the fix."""


def _servers():
    try:
        from jupyter_server.serverapp import list_running_servers
    except ImportError:  # no Jupyter server installed, so none is running from here
        return []
    return list(list_running_servers())


def open_in_lab(path, timeout: float = 5.0) -> list[str]:
    """The addresses of the running Jupyter servers that have ``path`` open.

    Parameters
    ----------
    path : path
        A notebook file.
    timeout : float, default 5
        Seconds to wait for each server's answer; a server that does not answer is skipped.

    Returns
    -------
    list of str
        One URL per server with a session on that file (empty if none).
    """
    path = Path(path).resolve()
    found = []
    for server in _servers():
        root = Path(server.get("root_dir") or server.get("notebook_dir") or "").resolve()
        try:
            relative = path.relative_to(root).as_posix()
        except ValueError:
            continue
        url = server["url"].rstrip("/") + "/api/sessions"
        if server.get("token"):
            url += "?" + urllib.parse.urlencode({"token": server["token"]})
        try:
            with urllib.request.urlopen(url, timeout=timeout) as answer:
                sessions = json.load(answer)
        except (OSError, ValueError):
            continue
        if any(s.get("path") == relative for s in sessions):
            found.append(server["url"])
    return found
