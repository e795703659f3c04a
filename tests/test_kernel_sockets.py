"""Report kernels talk over Unix sockets in a folder of their own, not over TCP ports.

Why: jupyter_client picks a TCP port by binding and releasing it, and the kernel binds it a
moment later; a kernel started at the same time by another process (the build's worker
pool, a test worker, a second build) can take it in between, and the kernel dies at
start-up. A full test run once lost one report of a rebuild that way (session 29). A
socket in a private folder cannot be taken by another kernel.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import nbformat
import pytest
from helpers import small_dataset, write_notebook

from lifileucel_analysis.contract.writing import write_tables
from lifileucel_analysis.runner import build_reports
from lifileucel_analysis.runner import run_notebook

pytestmark = pytest.mark.skipif(os.name != "posix", reason="Unix sockets: elsewhere kernels keep TCP")

PRINT_CONNECTION = ("from ipykernel import get_connection_info\n"
                    "import json, os\n"
                    "info = json.loads(get_connection_info())\n"
                    "print(json.dumps({'transport': info['transport'], 'ip': info['ip'],\n"
                    "                  'files': sorted(os.listdir(os.path.dirname(info['ip'])))}))")


def _connection_of_a_built_kernel(tmp_path: Path) -> dict:
    root = tmp_path / "project"
    write_notebook(root / "notebooks" / "sockets.ipynb", "n: int = 1", [PRINT_CONNECTION])
    (root / "params" / "sites").mkdir(parents=True)
    (root / "params" / "program.yaml").write_text("sockets: {}\n")
    write_tables(small_dataset(), root / "data", "csv")  # checked before the build; not read
    out = tmp_path / "reports"
    assert build_reports(root / "data", out, 1, params_dir=root / "params", notebooks_dir=root / "notebooks",
                         only=("sockets/all",)).ok
    cell = nbformat.read(out / "sockets" / "all.ipynb", as_version=4).cells[-1]
    return json.loads(cell.outputs[0]["text"])


def test_a_report_kernel_uses_unix_sockets_in_its_own_folder_removed_afterwards(tmp_path: Path) -> None:
    seen = _connection_of_a_built_kernel(tmp_path)
    assert seen["transport"] == "ipc"
    folder = Path(seen["ip"]).parent
    assert folder.name.startswith("eap-kernel-")
    assert folder.parent.name.startswith("lifileucel-kernel-logs-"), "inside the build's log folder, which it removes"
    assert seen["files"] == [f"k-{port}" for port in range(1, 6)], "the folder holds this kernel's sockets only"
    assert not folder.exists(), "the socket folder was left behind"


def test_a_log_folder_too_long_for_a_socket_path_falls_back_to_tcp(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    with run_notebook._kernel_sockets(deep) as settings:
        assert settings == {}
    assert list(deep.iterdir()) == [], "the socket folder was left behind"


def test_a_short_log_folder_gives_an_ipc_prefix_inside_it() -> None:
    short = Path(tempfile.mkdtemp(prefix="t", dir="/tmp"))
    try:
        with run_notebook._kernel_sockets(short) as settings:
            manager = settings["config"].KernelManager
            assert manager.transport == "ipc" and Path(manager.ip).parent.parent == short
        assert list(short.iterdir()) == [], "the socket folder was left behind"
    finally:
        short.rmdir()


def test_a_kernel_that_fails_at_start_up_is_described_with_its_log(tmp_path: Path) -> None:
    # Session 29's flaky build said only which report failed; a start-up failure now quotes the
    # kernel's log (here the port race's own words, as a kernel on TCP would have written them).
    log = tmp_path / "report.log"
    log.write_text("Traceback (most recent call last):\n  File \"kernelapp.py\", line 1, in init_sockets\n"
                   "zmq.error.ZMQError: Address already in use (addr='tcp://127.0.0.1:51234')\n")
    said = run_notebook._describe_error(RuntimeError("Kernel died before replying to kernel_info"), 600, log)
    assert said == ("RuntimeError: Kernel died before replying to kernel_info: Traceback (most recent call last): | "
                    "File \"kernelapp.py\", line 1, in init_sockets | zmq.error.ZMQError: Address already in use "
                    "(addr='tcp://127.0.0.1:51234')")
    without_log = run_notebook._describe_error(RuntimeError("no kernel"), 600, tmp_path / "none.log")
    assert without_log == "RuntimeError: no kernel"
