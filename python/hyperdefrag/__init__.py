"""hyperdefrag from Python: write a compacted copy of a Tableau Hyper (.hyper) file.

The work is done by hyperdefrag's C++ library (the module ``_core``, bound with
nanobind), the same code the ``hyperdefrag`` command runs; docs/PYTHON.md
describes the function, docs/USAGE.md the report it returns.
"""

from __future__ import annotations

import importlib.util
import json
import os
from typing import Any, Optional, Union

from . import _core

__all__ = ["HyperdefragError", "defragment", "__version__"]

__version__: str = _core.VERSION

PathLike = Union[str, "os.PathLike[str]"]


class HyperdefragError(Exception):
    """A run that failed: ``exit_code`` is the command's exit code for the cause
    (docs/USAGE.md lists them: 3 bad input, 4 bad output path, 5 engine, ...),
    ``message`` the one line the command prints, naming the file and the cause,
    and ``report`` the JSON report as a dict (None when the options were refused
    before any file was looked at)."""

    def __init__(self, exit_code: int, message: str, report: Optional[dict] = None):
        super().__init__(message)
        self.exit_code = exit_code
        self.message = message
        self.report = report

    def __repr__(self) -> str:
        return f"HyperdefragError(exit_code={self.exit_code}, message={self.message!r})"


def _own_hyperd() -> Optional[str]:
    """The hyperd of the tableauhyperapi this interpreter imports (the package's
    own environment), without importing it."""
    spec = importlib.util.find_spec("tableauhyperapi")
    if spec is None or not spec.origin:
        return None
    path = os.path.join(os.path.dirname(spec.origin), "bin", "hyper", "hyperd")
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


def _path(value: Optional[PathLike]) -> Optional[str]:
    return None if value is None else os.fsdecode(os.fspath(value))


def defragment(
    input: PathLike,
    output: Optional[PathLike] = None,
    *,
    in_place: bool = False,
    backup: Union[None, bool, PathLike] = None,
    verify: bool = False,
    force: bool = False,
    target_version: Optional[int] = None,
    memory_limit: Optional[str] = None,
    sort: Optional[str] = None,
    table_jobs: Optional[int] = None,
    hyperd: Optional[PathLike] = None,
    min_gain: Optional[str] = None,
    for_tableau: Optional[str] = None,
) -> dict[str, Any]:
    """Writes a compacted copy of ``input`` (a .hyper file, or a .twbx/.tdsx
    package) and returns the report ``hyperdefrag --json`` prints, as a dict.

    The arguments are the command's options: ``output`` is -o (default:
    <stem>.new.hyper beside the input), ``in_place`` --in-place, ``backup``
    --backup (True: <stem>.bak.hyper; a path: that path; only with in_place),
    ``verify`` --verify, ``force`` --force, ``target_version``
    --target-version, ``memory_limit`` --memory-limit (e.g. "2g"), ``sort``
    --sort, ``table_jobs`` --table-jobs, ``min_gain`` --min-gain (e.g. "10%"
    or "64MiB": a file whose estimated saving is below it is skipped, and the
    report says ``"skipped": true`` with the estimate), ``for_tableau``
    --for-tableau (a release such as "2022.1.2"; not with ``target_version``)
    and ``hyperd`` --hyperd. Without
    ``hyperd`` or $HYPERD_PATH the engine is the tableauhyperapi this Python
    imports (installed with hyperdefrag).

    Raises HyperdefragError, carrying the exit code and the message, on any
    failure; the input is then untouched and nothing is left behind.
    """
    if backup is False:
        backup = None
    if backup is True:
        backup = ""
    if hyperd is None and not os.environ.get("HYPERD_PATH"):
        hyperd = _own_hyperd()
    if target_version is not None and target_version < 0:
        raise HyperdefragError(2, f"target_version must be 0 or more, not {target_version}")
    if for_tableau is not None and target_version is not None:
        raise HyperdefragError(2, "for_tableau and target_version exclude each other")
    if table_jobs is not None and not 1 <= table_jobs <= 32:
        raise HyperdefragError(2, f"table_jobs must be between 1 and 32, not {table_jobs}")
    code, message, report_json = _core.run(
        _path(input),
        _path(output),
        bool(in_place),
        _path(backup),
        bool(verify),
        bool(force),
        target_version,
        memory_limit,
        sort or "",
        table_jobs or 0,
        _path(hyperd),
        min_gain,
        for_tableau,
    )
    report = json.loads(report_json) if report_json else None
    if code != 0:
        raise HyperdefragError(code, message, report)
    return report
