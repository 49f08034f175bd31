"""One look for every figure in the book: framework colours and a style that reads in light and dark mode."""

from __future__ import annotations

__all__ = ["FRAMEWORK_COLORS", "use_book_style"]

# Okabe-Ito colour-blind-safe pair: TensorFlow orange, PyTorch blue (the same in every chapter).
FRAMEWORK_COLORS = {"tensorflow": "#E69F00", "pytorch": "#0072B2", "numpy": "#009E73", "other": "#CC79A7"}


def use_book_style() -> None:
    """Set matplotlib defaults for the book: an opaque white figure (legible on the dark theme too), a light grid,
    no top/right spines, and a resolution that stays sharp on high-density screens."""
    import matplotlib as mpl

    mpl.rcParams.update(
        {
            "figure.dpi": 110,
            "figure.facecolor": "white",
            "axes.facecolor": "white",
            "savefig.facecolor": "white",
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": "medium",
            "legend.frameon": False,
            "font.size": 10,
        }
    )
