"""The look of every report figure: palette, fonts, sizes, and how a figure shows itself.

Design rules, so that figures are legible, accessible and byte-for-byte reproducible:

- One colour-blind-safe palette (Okabe & Ito, 2008), defined once in :data:`OKABE_ITO`;
  outcomes and verdicts always have the same colours (:data:`OUTCOME_COLORS`,
  :data:`VERDICT_COLORS`).
- Fixed size in inches and fixed dpi per figure; the bundled DejaVu Sans font.
- The style (:data:`STYLE`) is applied per figure, never globally: a figure is built
  inside :func:`figure_style`, and a :class:`ReportFigure` also draws and saves itself
  inside it (matplotlib resolves some settings, such as lazily created ticks, only when
  a figure is drawn). Importing this package or building a report changes no rcParams,
  and the caller's rcParams do not change a report figure.
- A :class:`ReportFigure` shows itself in a notebook as a PNG with
  :data:`PRINT_FIGURE_KWARGS` (no ``Software`` metadata, no tight bounding box, so a
  fixed pixel size), so no kernel-wide display setting is needed either.
"""

from __future__ import annotations

import io
import textwrap
from binascii import b2a_base64
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from ..contract.schema import SITES

OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
"""The Okabe-Ito colour-blind-safe palette."""
NEUTRAL_GREY = "#BBBBBB"
"""For 'not applicable' and empty cells: a grey that no palette colour can be confused with."""

OUTCOME_COLORS: dict[str, str] = {
    "pass": OKABE_ITO["bluish_green"],
    "fail": OKABE_ITO["vermillion"],
    "unknown": OKABE_ITO["orange"],
    "not_applicable": NEUTRAL_GREY,
    "waived": OKABE_ITO["sky_blue"],
}
VERDICT_COLORS: dict[str, str] = {
    "eligible": OKABE_ITO["bluish_green"],
    "pending": OKABE_ITO["orange"],
    "ineligible": OKABE_ITO["vermillion"],
}
OUTCOME_LABELS: dict[str, str] = {
    "pass": "pass",
    "fail": "fail",
    "unknown": "unknown (data missing)",
    "not_applicable": "not applicable",
    "waived": "waived",
}
"""How the legend names each outcome."""
SEQUENTIAL_CMAP = "cividis"
"""Heat maps: perceptually uniform and readable with colour-vision deficiency."""

DPI = 100
SVG_HASHSALT = "lifileucel-eap"
STYLE: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "image.interpolation": "nearest",
    "svg.hashsalt": SVG_HASHSALT,
    "svg.fonttype": "path",
    "pdf.fonttype": 42,
    "text.usetex": False,
}
"""rcParams every report figure is built, drawn and saved with (:func:`figure_style`)."""
PRINT_FIGURE_KWARGS: dict[str, Any] = {"metadata": {"Software": None}, "bbox_inches": None}
"""``print_figure``/``savefig`` arguments of a notebook PNG: no Software chunk, fixed pixel size."""


@contextmanager
def figure_style() -> Iterator[None]:
    """Build or draw inside the block with matplotlib's defaults plus :data:`STYLE`, and only there.

    Starting from the defaults (not from the caller's rcParams) makes a report figure
    independent of a user's ``matplotlibrc`` or of settings made earlier in a notebook.
    The caller's rcParams are restored on leaving (``matplotlib.rc_context``).
    """
    with matplotlib.rc_context():
        matplotlib.rcdefaults()  # leaves the backend and interactive mode alone
        matplotlib.rcParams.update(STYLE)
        yield


class ReportFigure(Figure):
    """A :class:`~matplotlib.figure.Figure` that draws, saves and shows itself in :data:`STYLE`.

    A figure is drawn when it is shown or saved, which may be long after the function that
    built it returned; drawing inside :func:`figure_style` makes the pixels independent of
    the rcParams in force at that moment. In a notebook it shows itself as a PNG made with
    :data:`PRINT_FIGURE_KWARGS` (``_repr_png_``), exactly as IPython's inline backend
    would with those arguments.
    """

    def draw(self, renderer: Any) -> None:
        with figure_style():
            super().draw(renderer)

    def savefig(self, fname: Any, **kwargs: Any) -> None:
        with figure_style():
            super().savefig(fname, **kwargs)

    alt_text: str = ""
    """What the figure shows, in words: the image's ``alt`` text in the HTML page (set by the
    function that builds the figure; :meth:`describe`)."""

    def describe(self, text: str) -> ReportFigure:
        """Set :attr:`alt_text` (counts and denominators included) and return the figure."""
        self.alt_text = " ".join(text.split())
        return self

    def _repr_png_(self) -> tuple[str, dict[str, str]]:
        # What IPython's print_figure(fig, "png", base64=True, **PRINT_FIGURE_KWARGS) returns,
        # with the alt text as the output's metadata (nbconvert writes it as <img alt=...>).
        buffer = io.BytesIO()
        kwargs = {"format": "png", "facecolor": self.get_facecolor(), "edgecolor": self.get_edgecolor(),
                  "dpi": self.dpi, **PRINT_FIGURE_KWARGS}
        with figure_style():
            self.canvas.print_figure(buffer, **kwargs)
        title = self._suptitle.get_text().replace("\n", " ") if self._suptitle is not None else "Figure"
        return (b2a_base64(buffer.getvalue(), newline=False).decode("ascii"),
                {"alt": self.alt_text or title})

    def __repr__(self) -> str:
        # Named like any matplotlib figure: the notebook's text/plain output stays the same.
        width, height = self.bbox.size
        return f"<Figure size {width:g}x{height:g} with {len(self.axes)} Axes>"


def new_figure(size: tuple[float, float]) -> ReportFigure:
    """A figure of fixed size and dpi with constrained layout, outside pyplot.

    Built with the class directly, never with ``pyplot``: nothing global is created or
    closed, and the caller owns the returned object. Call it inside :func:`figure_style`.
    """
    return ReportFigure(figsize=size, dpi=DPI, layout="constrained")


# --------------------------------------------------------------------------- shared pieces


TITLE_CHARACTERS_PER_INCH = 9.5
"""How many characters of an 11 pt bold title fit in an inch (DejaVu Sans, with margin)."""


def figure_title(fig: Figure, text: str) -> None:
    """Title the figure above all its axes, wrapped to the figure's width: never cut off."""
    width = max(int(fig.get_figwidth() * TITLE_CHARACTERS_PER_INCH), 20)
    fig.suptitle(textwrap.fill(text, width=width, break_long_words=False), fontweight="bold", fontsize=11)



def criterion_tick_label(criterion_id: str, labels: Mapping[str, str], width: int = 48) -> str:
    """``"I4  ECOG performance status 0-1"``, the label shortened to ``width`` characters."""
    label = labels.get(criterion_id, criterion_id)
    return f"{criterion_id}  {textwrap.shorten(label, width=width, placeholder='...')}"


def site_label(site_id: str) -> str:
    """A site's name from the registry record, wrapped at 34 characters (``"All sites"`` otherwise)."""
    name = SITES[site_id].name if site_id in SITES else "All sites"
    return "\n".join(textwrap.wrap(name, width=34))


def no_data(ax: Axes, message: str = "no patients screened") -> None:
    """Say in the middle of an empty axes why it is empty."""
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="#555555")
    ax.set_xticks([])
    ax.set_yticks([])


def text_color_on(fill: Sequence[float] | str) -> str:
    """Black or white text, whichever reads better on ``fill`` (relative luminance)."""
    r, g, b = to_rgb(fill)
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"
