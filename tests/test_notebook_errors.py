"""A user's mistake in a notebook shows as its message, not as a screen of the package's frames.

Review 24C: a wrong dataset path or site code ended, after 30 lines of package frames, in a clear
message. The package's user-facing errors render as the message alone (IPython's
``_render_traceback_``); the exception itself is unchanged.
"""

from __future__ import annotations

import nbclient
import nbformat
import pytest

from lifileucel_analysis.contract.dataset import ContractError
from lifileucel_analysis.contract.messages import ShownAsMessage
from lifileucel_analysis.contract.output_lock import OutputLockedError
from lifileucel_analysis.contract.parameter_files import ParamsError
from lifileucel_analysis.contract.workbook import SheetLimitError
from lifileucel_analysis.report.changes import NoSuchRunError
from lifileucel_analysis.report.run_history import HistoryError
from lifileucel_analysis.report.screening_inputs import InputNotFoundError
from lifileucel_analysis.report.sdtm_inputs import SdtmInputError


def _error_output(source: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nbclient.NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=120).execute()
    [output] = [o for o in nb.cells[0].outputs if o["output_type"] == "error"]
    return output


def test_a_missing_dataset_in_a_notebook_shows_the_message_and_where_it_was_looked_for() -> None:
    output = _error_output("from lifileucel_analysis.report import EligibilityReport\n"
                           "EligibilityReport.build(site='mskcc', dataset='no/such/folder')")
    assert output["ename"] == "ContractError"
    [message] = output["traceback"]  # the message alone: no frames
    assert message.startswith("ContractError: 1 problem in the screening dataset ")
    assert "no such file or folder (looked at " in message and "or the project root" in message
    assert "Traceback" not in "".join(output["traceback"]) and "site-packages" not in "".join(output["traceback"])


def test_a_site_code_not_in_the_record_shows_the_message() -> None:
    output = _error_output("from lifileucel_analysis.report import EligibilityReport\n"
                           "EligibilityReport.build(site='mskcc-typo')")
    [message] = output["traceback"]
    assert message.startswith("ParamsError: unknown site 'mskcc-typo'; did you mean 'mskcc'? use one of ")


@pytest.mark.parametrize("error", [ContractError, ParamsError, InputNotFoundError, HistoryError, NoSuchRunError,
                                   SdtmInputError, SheetLimitError, OutputLockedError])
def test_every_user_facing_error_renders_as_its_message(error: type[Exception]) -> None:
    assert issubclass(error, ShownAsMessage)


def test_the_rendering_is_the_message() -> None:
    assert ParamsError("site 'x' is not a site code")._render_traceback_() == [
        "ParamsError: site 'x' is not a site code"]
