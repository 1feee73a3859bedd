"""The workshop's commands without ``make``: ``python -m fairaudit setup | lab | reset | workshop``.

Plain Python, standard library only, so that ``python -m fairaudit setup`` runs
before anything is installed (on Windows too). The Makefile's targets call the
same commands, so both paths do the same thing::

    python -m fairaudit setup [--wheelhouse DIR]   # .venv with the pinned packages
    python -m fairaudit lab                        # JupyterLab on workspace/
    python -m fairaudit reset 01                   # a fresh copy of notebook 01
    python -m fairaudit workshop                   # workshop/: student, teacher, html
    python -m fairaudit wheelhouse DIR             # every pinned wheel, for a room without Wi-Fi

``lab``, ``reset`` and ``workshop`` set up the environment first if it is
missing or older than the lock, then run inside it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = "requirements.lock"
#: Python versions the lock installs: from 3.11.5 (its oldest pins need it) to 3.15.
OLDEST, NEWEST = (3, 11, 5), (3, 15)
#: Where they were run end to end (set-up, tests, every notebook), and where only resolved.
RUN, RESOLVED = "3.11 and 3.13", "3.12, 3.14 and 3.15"
STAMP = ".fairaudit-installed"
COMMANDS = ("setup", "lab", "reset", "workshop", "wheelhouse")
#: Wheel platforms ``wheelhouse`` knows by a short name (pip's tags; older manylinux and
#: macOS tags are included by pip).
PLATFORMS = {
    "linux": ("manylinux_2_28_x86_64", "linux", "posix", "Linux"),
    "linux-arm": ("manylinux_2_28_aarch64", "linux", "posix", "Linux"),
    "windows": ("win_amd64", "win32", "nt", "Windows"),
    "macos": ("macosx_14_0_arm64", "darwin", "posix", "Darwin"),
    "macos-intel": ("macosx_10_13_x86_64", "darwin", "posix", "Darwin"),
}


class SetupError(Exception):
    """A refusal: one line saying what was wrong and what to do; nothing was changed."""


def supported(version) -> bool:
    """Whether a Python version (a tuple) is one the lock installs."""
    return OLDEST <= tuple(version[:3]) and tuple(version[:2]) <= NEWEST


def _dotted(version) -> str:
    return ".".join(map(str, version))


def needs() -> str:
    """The sentence that names the Python versions, for every refusal."""
    return (
        f"fairaudit needs Python {_dotted(OLDEST)} to {_dotted(NEWEST)} (run end to end on "
        f"{RUN}; its pins resolve to wheels on {RESOLVED})"
    )


def venv_python(venv: Path) -> Path:
    """The interpreter of a virtual (or conda) environment, on Windows too."""
    windows = venv / "Scripts" / "python.exe"
    return windows if os.name == "nt" or windows.exists() else venv / "bin" / "python"


def _at_root(path) -> Path:
    return Path(path) if Path(path).is_absolute() else ROOT / path


def _version_of(python: Path) -> tuple:
    done = subprocess.run(
        [str(python), "-c", "import sys; print(*sys.version_info[:3])"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SetupError(f"{python} does not run ({done.stderr.strip()[-200:]}).")
    return tuple(int(v) for v in done.stdout.split())


def fingerprint(python_version) -> dict:
    """What an installed environment was made from: the lock, the project, the Python."""
    digest = hashlib.sha256()
    for name in (LOCK, "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return {"sources": digest.hexdigest(), "python": _dotted(python_version)}


def up_to_date(venv: Path) -> bool:
    """Whether ``venv`` holds this lock and project, installed for its own Python."""
    stamp, python = venv / STAMP, venv_python(venv)
    if not stamp.is_file() or not python.exists():
        return False
    try:
        recorded = json.loads(stamp.read_text())
    except (OSError, ValueError):
        return False
    return recorded == fingerprint(_version_of(python))


def _run(command, **kwargs) -> None:
    print("+ " + " ".join(map(str, command)), flush=True)
    done = subprocess.run([str(c) for c in command], **kwargs)
    if done.returncode != 0:
        raise SetupError(
            f"{Path(str(command[0])).name} failed (exit {done.returncode}); see above."
        )


def _install_commands(python: Path, venv: Path, wheelhouse, installer: str) -> list[list]:
    """The commands that install the lock and the project into ``venv``."""
    offline = ["--no-index", "--find-links", str(wheelhouse)] if wheelhouse else []
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if installer == "pip":
        return [
            [*pip, *offline, "--upgrade", "pip>=24"],
            [*pip, *offline, "-r", ROOT / LOCK],
            [*pip, *offline, "--no-deps", "-e", ROOT],
        ]
    uv = venv / ("Scripts/uv.exe" if os.name == "nt" else "bin/uv")
    uv_offline = ["--offline", *offline] if wheelhouse else []
    uv_install = [uv, "pip", "install", "--quiet", "--python", python, *uv_offline]
    return [
        [*pip, *offline, _uv_pin()],
        [*uv_install, "-r", ROOT / LOCK],
        [*uv_install, "--no-deps", "-e", ROOT],
    ]


def _uv_pin() -> str:
    for line in (ROOT / LOCK).read_text().splitlines():
        if line.startswith("uv=="):
            return line.split(";")[0].strip()
    return "uv"


def setup(venv=".venv", wheelhouse=None, installer="auto", force=False) -> Path:
    """Create ``venv`` (unless it exists) and install the lock and the project into it.

    ``installer`` is ``"uv"``, ``"pip"`` or ``"auto"`` (uv, and pip where uv fails).
    With ``wheelhouse`` nothing is downloaded: every package comes from that folder.
    Returns the environment's interpreter.
    """
    if not supported(sys.version_info):
        raise SetupError(
            f"{needs()}, and this is Python {_dotted(sys.version_info[:3])} "
            f"({sys.executable}). Nothing was installed. Run this command with a supported "
            "python (e.g. py -3.13 -m fairaudit setup on Windows), or: make setup "
            "PYTHON=/path/to/python3.13"
        )
    venv = _at_root(venv)
    if wheelhouse is not None:
        wheelhouse = Path(wheelhouse).resolve()
        if not wheelhouse.is_dir() or not any(wheelhouse.glob("*.whl")):
            raise SetupError(
                f"the wheelhouse {wheelhouse} holds no wheels; make one where there is a network: "
                "make wheelhouse WHEELHOUSE=/path (or python -m fairaudit wheelhouse /path)."
            )
    python = venv_python(venv)
    if python.exists():
        found = _version_of(python)
        if not supported(found):
            raise SetupError(
                f"{venv} holds Python {_dotted(found)}, but {needs()}. Nothing was installed. "
                f"Remove it (rm -rf {venv}) and run this again."
            )
        if not force and up_to_date(venv):
            (venv / STAMP).touch()  # for make: newer than the lock it was checked against
            print(f"Environment in {venv} is up to date.")
            return python
    else:
        _run([sys.executable, "-m", "venv", venv])
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    steps = _install_commands(python, venv, wheelhouse, "pip" if installer == "pip" else "uv")
    try:
        for step in steps:
            _run(step, env=env)
    except SetupError:
        if installer != "auto":
            raise
        print("uv did not install the lock; installing with pip instead.", flush=True)
        for step in _install_commands(python, venv, wheelhouse, "pip"):
            _run(step, env=env)
    version = _version_of(python)
    for name, shown in (
        ("python3", None),
        ("fairaudit", f"fairaudit (Python {_dotted(version[:2])})"),
    ):
        spec = [python, "-m", "ipykernel", "install", "--sys-prefix", "--name", name]
        _run(spec + (["--display-name", shown] if shown else []), stdout=subprocess.DEVNULL)
    _kernel_hints(venv)
    _lab_settings(venv)
    (venv / STAMP).write_text(json.dumps(fingerprint(version)))
    print(f"Environment ready in {venv}.")
    return python


def _kernel_hints(venv: Path) -> None:
    """Load the exercises' hints into the project's kernel (a NameError says what to run)."""
    spec = venv / "share" / "jupyter" / "kernels" / "fairaudit" / "kernel.json"
    kernel = json.loads(spec.read_text())
    if "--ext=fairaudit.exercises" not in kernel["argv"]:
        kernel["argv"].append("--ext=fairaudit.exercises")
    spec.write_text(json.dumps(kernel, indent=1))


#: JupyterLab's settings for a projector: no news question, no update check.
LAB_OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}
}


def _lab_settings(venv: Path) -> None:
    folder = venv / "share" / "jupyter" / "lab" / "settings"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "overrides.json"
    settings = json.loads(path.read_text()) if path.is_file() else {}
    settings.update(LAB_OVERRIDES)
    path.write_text(json.dumps(settings, indent=1))


def lab_command(python: Path, workspace, port: int, extra=()) -> list[str]:
    """The ``jupyter lab`` command ``make lab`` runs (root gets ``--allow-root --no-browser``)."""
    command = [
        str(python), "-m", "jupyterlab",
        f"--ServerApp.root_dir={_at_root(workspace)}",
        f"--ServerApp.port={port}",
        "--MappingKernelManager.default_kernel_name=fairaudit",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command += ["--allow-root", "--no-browser"]
    return command + list(extra)


def wheelhouse(target, pythons=None, platforms=("here",)) -> Path:
    """Download every pinned wheel for the given Python versions and platforms into ``target``.

    Runs inside the set-up environment (it reads the lock's markers with ``packaging``).
    ``platforms`` are names of :data:`PLATFORMS`, or ``"here"`` for this machine.
    """
    from packaging.requirements import Requirement

    target = Path(target).resolve()
    target.mkdir(parents=True, exist_ok=True)
    pythons = list(pythons or [_dotted(sys.version_info[:2])])
    lines = [
        line.strip()
        for line in (ROOT / LOCK).read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for name in platforms:
        if name != "here" and name not in PLATFORMS:
            raise SetupError(f"unknown platform {name!r}; use one of: here, {', '.join(PLATFORMS)}")
        for version in pythons:
            if name == "here":
                tag, env = None, {}
            else:
                tag, sys_platform, os_name, system = PLATFORMS[name]
                env = {"sys_platform": sys_platform, "os_name": os_name, "platform_system": system}
            newest = f"{version}.99"  # the newest release of that minor version (3.11.0 is too old)
            env |= {"python_version": version, "python_full_version": newest}
            wanted = []
            for line in lines:
                req = Requirement(line)
                if req.marker is None or req.marker.evaluate(env):
                    wanted.append(f"{req.name}{req.specifier}")
            wanted += ["pip>=24", "setuptools>=68"]
            listing = target / f".wanted-{name}-{version}.txt"
            listing.write_text("\n".join(wanted) + "\n")
            where = ["--platform", tag] if tag else []
            _run([
                sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                "--only-binary=:all:", "--python-version", newest, *where,
                "--dest", target, "-r", listing,
            ])  # fmt: skip
            listing.unlink()
    print(f"Wheels for Python {', '.join(pythons)} on {', '.join(platforms)} in {target}.")
    return target


def _inside(venv: Path) -> bool:
    return Path(sys.prefix).resolve() == venv.resolve()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m fairaudit", description=__doc__.split("\n")[0])
    parser.add_argument("--venv", default=os.environ.get("FAIRAUDIT_VENV", ".venv"),
                        help="the environment (default .venv)")  # fmt: skip
    commands = parser.add_subparsers(dest="command", required=True)
    setup_ = commands.add_parser("setup", help="create the environment and install the lock")
    setup_.add_argument("--wheelhouse", help="install from this folder only (no network)")
    setup_.add_argument("--installer", choices=("auto", "uv", "pip"), default="auto")
    setup_.add_argument("--force", action="store_true", help="reinstall even if up to date")
    lab = commands.add_parser("lab", help="JupyterLab on your working copies")
    lab.add_argument("--workspace", default="workspace")
    lab.add_argument("--port", type=int, default=8888)
    lab.add_argument("extra", nargs=argparse.REMAINDER, help="more arguments for jupyter lab")
    reset = commands.add_parser("reset", help="a fresh working copy of one notebook")
    reset.add_argument("notebook", help="its number or name, e.g. 01")
    reset.add_argument("--workspace", default="workspace")
    build = commands.add_parser("workshop", help="student, teacher and HTML copies")
    build.add_argument("--target", default="workshop")
    wheels = commands.add_parser("wheelhouse", help="download every pinned wheel")
    wheels.add_argument("target")
    wheels.add_argument("--python", nargs="+", dest="pythons", metavar="X.Y")
    wheels.add_argument("--platform", nargs="+", dest="platforms", default=["here"],
                        metavar="NAME", help=f"here, {', '.join(PLATFORMS)}")  # fmt: skip
    return parser


def main(argv=None) -> int:
    """Run one command; 0 on success, 2 for a refusal (one line on stderr)."""
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    venv = _at_root(args.venv)
    try:
        if args.command == "setup":
            setup(venv, args.wheelhouse, args.installer, args.force)
            return 0
        if not _inside(venv):  # set up if needed, then run the command inside the environment
            python = venv_python(venv) if up_to_date(venv) else setup(venv)
            argv = sys.argv[1:] if argv is None else list(argv)
            return subprocess.run(
                [
                    str(python),
                    "-m",
                    "fairaudit",
                    "--venv",
                    str(venv),
                    *argv[argv.index(args.command) :],
                ]
            ).returncode
        if args.command == "wheelhouse":
            wheelhouse(args.target, args.pythons, args.platforms)
        elif args.command == "lab":
            from fairaudit.exercises import make_copies

            created, kept = make_copies(args.workspace)
            for path in created:
                print(f"created {path}")
            if kept:
                print(
                    f"kept your {len(kept)} existing copies (a fresh one: make reset NOTEBOOK=01)"
                )
            extra = [a for a in args.extra if a != "--"]
            command = lab_command(Path(sys.executable), args.workspace, args.port, extra)
            if os.name == "nt":
                return subprocess.run(command).returncode
            os.execv(command[0], command)
        elif args.command == "reset":
            from fairaudit.exercises import reset_copy

            copy, backup = reset_copy(args.notebook, args.workspace)
            moved = f"; your previous copy is in {backup}" if backup else ""
            print(f"fresh copy: {copy}{moved}")
        elif args.command == "workshop":
            from fairaudit.exercises import build_workshop

            built = build_workshop(args.target)
            for kind, files in built.items():
                if files:
                    print(f"{kind}: {len(files)} file(s) in {files[0].parent}")
    except (SetupError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file where a folder must be, no permission, a full disk, ...
        where = f": {exc.filename}" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}; choose another folder.", file=sys.stderr)
        return 2
    return 0
