"""The figure kinds, their choices and the module that draws each (no matplotlib here: the
window and the command line read this table without paying for matplotlib's import)."""

from __future__ import annotations

from dataclasses import dataclass, field

#: histogram quantities (``*_log``: the histograms of log10 |x|, recorded for the gradients)
HIST_QUANTITIES = ("act", "pre", "delta", "wgrad", "weight", "delta_log", "wgrad_log")


@dataclass(frozen=True)
class Kind:
    """A figure kind: what it draws from, which ``quantity`` values it takes (the first is the
    default; empty: none), its other options with their choices (the first is the default),
    and ``module.function`` that draws it."""

    name: str
    summary: str
    module: str
    function: str
    quantities: tuple[str, ...] = ()
    extra: dict[str, tuple] = field(default_factory=dict)
    several_runs: bool = False
    #: quantities drawn as several panels (a wide default size)
    multi_panel: tuple[str, ...] = ()


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "distributions",
            "normalised histograms of one quantity in every layer at one probe (overlaid, "
            "Glorot & Bengio figs. 6-8, or one plot per layer, CS231n)",
            "histograms",
            "draw_distributions",
            HIST_QUANTITIES,
            {"layout": ("overlay", "multiples")},
        ),
        Kind(
            "profile",
            "per-layer statistics at one probe, x = layer, with the mean-field prediction "
            "(CS231n's layer mean and std)",
            "layers",
            "draw_profile",
            ("all", "act", "pre", "saturation", "speed", "gradients", "jacobian"),
            multi_panel=("all",),
        ),
        Kind(
            "over_time",
            "per-layer lines over training: activation mean with its 2-98% band (Glorot & "
            "Bengio figs. 2-4), speed of learning, weight-gradient std (fig. 9), update ratio, "
            "Jacobian",
            "layers",
            "draw_over_time",
            ("all", "act", "speed", "wgrad", "update_ratio", "jacobian"),
            multi_panel=("all",),
        ),
        Kind(
            "speed",
            "Nielsen's speed of learning ||dC/db|| per layer: bars at one step and lines over "
            "training",
            "layers",
            "draw_speed",
            ("both", "bars", "lines"),
            multi_panel=("both",),
        ),
        Kind(
            "training",
            "loss, accuracy, learning rate and gradient norm over steps",
            "training",
            "draw_training",
            ("all", "loss", "accuracy", "lr", "grad_norm"),
            multi_panel=("all",),
        ),
        Kind(
            "heatmaps",
            "each layer's histograms over the whole run as an image (x = step, y = value)",
            "histograms",
            "draw_heatmaps",
            HIST_QUANTITIES,
            {"logc": (True, False)},
            multi_panel=HIST_QUANTITIES,
        ),
        Kind(
            "boundary",
            "the decision boundary over the input plane with the training points (2-D data)",
            "training",
            "draw_boundary",
        ),
        Kind(
            "compare",
            "several runs: loss curves, speed of learning per layer and Glorot & Bengio's "
            "Table 1 layout (test error % by activation and initialisation)",
            "compare",
            "draw_compare",
            ("all", "loss", "speed", "table"),
            several_runs=True,
            multi_panel=("all",),
        ),
        Kind(
            "dashboard",
            "one run on one page: loss, accuracy, histograms, profile, speed of learning, "
            "boundary (2-D data) or activations over time",
            "dashboard",
            "draw_dashboard",
            multi_panel=("",),
        ),
    )
}
