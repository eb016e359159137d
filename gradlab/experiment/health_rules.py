"""The lines health verdicts are judged by, and the checks that judge one probe's statistics
(see :mod:`gradlab.experiment.health` for the verdicts, their events and the API).

Every line says where it comes from: a seed (CS231n lecture 6, Glorot & Bengio 2010, Nielsen
ch. 5) and what the presets measured on either side of it (seed 0, probe batch of the preset).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradlab.engine import Network
from gradlab.engine.activations import Activation
from gradlab.engine.layers import BatchNorm, Dense, Dropout

# ---------------------------------------------------------------------------------- the lines
#: Depth trends. A per-layer statistic is fitted by least squares in log space across the hidden
#: layers (``per_layer`` = exp(slope), ``total`` = per_layer ** (H - 1)). A signal *shrinks
#: across depth* when total <= 1 / DEPTH_SHRINK and per_layer <= PER_LAYER_SHRINK. Measured at
#: step 0 (seed 0), the back-propagated gradient (``delta_norm``) going down shrinks 7.6e5x in
#: cs231n-tanh-0.01 (0.22x a layer), 2.5e3x in glorot-sigmoid-standard, 148x and 24x in the
#: Nielsen presets, 22x in cs231n-relu-xavier (0.71x a layer: ReLU halves the variance), 17x in
#: glorot-softsign-standard and 10x in glorot-tanh-standard (0.56x a layer), all flagged; 3.3x in
#: cs231n-tanh-xavier (0.88x), 2.4x in spiral, 1.7x in glorot-tanh-normalized and 1.0x in
#: cs231n-relu-he, none flagged. The activation std going up: 7.3e5x, 22x, 13x, 9.9x in the
#: flagged ones, 2.6x and 1.7x in the Xavier ones. The per-layer line keeps deep healthy nets
#: clear of the total line (20 tanh layers with Glorot init lose ~0.9x a layer).
DEPTH_SHRINK = 5.0
PER_LAYER_SHRINK = 0.8
#: A signal *grows across depth* when total >= DEPTH_GROW and per_layer >= PER_LAYER_GROW.
#: Training legitimately grows gradients going down: the spiral preset, healthy (98.5%),
#: reaches 12x across its 3 hidden layers after 3,000 steps; Nielsen's chain (25x a layer)
#: starts at 1.6e4x, cs231n-tanh-1.0 at 6.1e4x (3.4x a layer).
DEPTH_GROW = 100.0
PER_LAYER_GROW = 1.25
#: A hidden layer's activation std against the input's std: below INPUT_COLLAPSE the
#: activations have collapsed (CS231n's layer 4 of 10 with W = 0.01 randn: 2.4e-3; a 2-input
#: layer of 1000 tanh units with Glorot init, healthy: 0.06); above INPUT_EXPLODE they explode.
INPUT_COLLAPSE = 1e-2
INPUT_EXPLODE = 1e2
#: Fraction of (example, unit) pairs with |f'| < 1% of max |f'| in a two-sided saturating
#: layer. cs231n-tanh-1.0: 0.89 at step 0; the spiral preset's tanh layers while learning
#: well: up to 0.45 within its 4,000 steps; cs231n-tanh-xavier 0.003.
SATURATED = 0.7
#: A two-sided layer's mean activation within this fraction of its range from a bound (Glorot
#: & Bengio fig. 2: the top sigmoid layer of glorot-sigmoid-standard falls from 0.50 to 0.094
#: within 250 SGD steps at lr 0.1; the others stay at 0.50-0.64).
BOUND = 0.1
#: Fraction of a layer's units with no gradient for any probe example. He-initialised ReLU nets
#: 20 layers deep and 32-128 wide already have up to 60% of some layer's units off for every
#: input at step 0 (seeds 0-11 on gaussian, mnist_like and standardised spiral data: deep ReLU
#: layers map all inputs close together, so a unit is on for all of them or for none), so the
#: line sits above that healthy baseline; dead-relu at lr 0.03 kills 86-95% of every layer
#: within 25 steps, at lr 0.001 at most 13% (CS231n: "as much as 40% of your network can be
#: dead" is the warning sign; the line asks for most of a layer).
DEAD = 0.7
#: Units of a layer computing copies of one another: distinct / units at or below this.
SYMMETRIC = 0.5
#: ||dW|| / ||W|| per update (CS231n: "somewhere around 1e-3"). cs231n-tanh-0.01: 6e-11;
#: glorot-sigmoid-standard's first layer: 1.7e-7; healthy presets: 5e-6 to 4e-2.
FROZEN = 1e-6
THRASHING = 1e-1
#: The loss is stuck at chance when STUCK_EVALS scheduled evaluations in a row (after step 0)
#: stay above (1 - STUCK_TOLERANCE) x chance. cs231n-tanh-0.01: 2.3026 = ln 10 throughout;
#: cs231n-tanh-xavier: 1.1% below at its first evaluation, 3.4% at its second.
STUCK_EVALS = 3
STUCK_TOLERANCE = 0.02
#: While a verdict stands, ratio lines are relaxed by this factor and fraction lines by
#: FRACTION_MARGIN, so a signal hovering at a line does not raise and end it on every probe.
HYSTERESIS = 2.0
FRACTION_MARGIN = 0.1
#: CS231n's divergence rule is judged on the median loss of this many consecutive batches.
DIVERGE_WINDOW = 10

CS231N = "CS231n lecture 6"
GLOROT = "Glorot & Bengio (2010)"
NIELSEN = "Nielsen, Neural Networks and Deep Learning, ch. 5"

#: every health kind, worst first within a severity
KIND_ORDER = (
    "nan",
    "diverged",
    "nonfinite",
    "saturation",
    "dead",
    "symmetric",
    "exploding",
    "vanishing",
    "collapse",
    "frozen",
    "thrashing",
    "stuck",
)
#: short labels for a status bar
LABELS = {
    "healthy": "healthy",
    "nan": "diverged (NaN)",
    "diverged": "diverged (loss)",
    "nonfinite": "non-finite values",
    "saturation": "saturation",
    "dead": "dead units",
    "symmetric": "symmetric units",
    "exploding": "exploding gradients",
    "vanishing": "vanishing gradients",
    "collapse": "collapsing activations",
    "frozen": "frozen layers",
    "thrashing": "thrashing updates",
    "stuck": "loss stuck at chance",
}
SEVERITY_RANK = {"ok": 0, "info": 1, "warning": 2, "error": 3}
ERROR_KINDS = ("nan", "diverged", "nonfinite")


# ---------------------------------------------------------------------------------- findings
@dataclass(frozen=True)
class Finding:
    """One signal past its line: what an event records."""

    kind: str
    message: str
    layers: tuple[str, ...] = ()
    quantity: str = ""
    value: float | None = None
    line: float | None = None
    cmp: str = ">"
    source: str = ""
    severity: str = "warning"
    #: the layer the message names when ``layers`` is in network order (default: layers[0])
    worst: str | None = None

    @property
    def layer(self) -> str | None:
        if self.worst is not None:
            return self.worst
        return self.layers[0] if self.layers else None

    def fields(self) -> dict[str, Any]:
        """The extra event keys (JSON-able: non-finite numbers become None)."""
        return {
            "layers": list(self.layers),
            "quantity": self.quantity,
            "value": _finite(self.value),
            "line": _finite(self.line),
            "cmp": self.cmp,
            "source": self.source,
        }


def _finite(x: float | None) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


@dataclass(frozen=True)
class LayerInfo:
    """What the judge needs to know about a dense block besides its statistics."""

    name: str
    activation: str
    saturates: str  # "both", "one" or "none" (see Activation.saturates)
    bounds: tuple[float, float] | None  # range of f for two-sided activations
    units: int
    dropout_after: bool  # dropout acts on this block's output (breaks symmetric units)
    trainable: bool = True  # False: frozen on purpose (its update ratio is 0 by design)


def _bounds(act: Activation) -> tuple[float, float] | None:
    if act.saturates != "both":
        return None
    with np.errstate(all="ignore"):
        ends = act.forward(np.array([[-1e4, 1e4]]))
    lo, hi = float(ends[0, 0]), float(ends[0, 1])
    return (lo, hi) if math.isfinite(lo) and math.isfinite(hi) and hi > lo else None


def layer_infos(net: Network) -> list[LayerInfo]:
    """One :class:`LayerInfo` per dense block (output last)."""
    infos = []
    mods = net.modules
    for k, mod in enumerate(mods):
        if not isinstance(mod, Dense):
            continue
        after = mod.dropout is not None and mod.dropout.rate > 0
        for nxt in mods[k + 1 :]:
            if isinstance(nxt, Dense):
                break
            if isinstance(nxt, Dropout) and nxt.rate > 0:
                after = True
        infos.append(
            LayerInfo(mod.name, mod.act.name, mod.act.saturates, _bounds(mod.act), mod.units, after,
                      getattr(mod, "trainable", True))
        )
    return infos


def depth_trend(values: Sequence[float]) -> tuple[float, float] | None:
    """(per_layer, total) of a positive per-layer statistic across layers: per_layer is
    exp(slope) of the least-squares line through log(values), total = per_layer ** (n - 1).
    None with fewer than two values or any value not finite and > 0."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) < 2 or not (np.isfinite(v).all() and (v > 0).all()):
        return None
    x = np.arange(len(v), dtype=np.float64)
    x -= x.mean()
    slope = float(np.dot(x, np.log(v)) / np.dot(x, x))
    per = math.exp(slope)
    return per, per ** (len(v) - 1)


def _relax(line: float, on: bool, bad_above: bool) -> float:
    """The line a standing verdict has to get back over to end (ratio lines)."""
    if not on:
        return line
    return line / HYSTERESIS if bad_above else line * HYSTERESIS


# ---------------------------------------------------------------------------------- probe checks
def _check_saturation(st, infos, H, on) -> Finding | None:
    sat_line = SATURATED - (FRACTION_MARGIN if on else 0.0)
    bound_line = BOUND * (HYSTERESIS if on else 1.0)
    hits: list[tuple[float, int, str, float]] = []  # (badness, layer, how, value)
    for l in range(H):
        info = infos[l]
        if info.saturates != "both":
            continue
        frac = st["act_saturated"][l]
        if math.isfinite(frac) and frac >= sat_line:
            hits.append((frac, l, "fraction", frac))
            continue
        mean = st["act_mean"][l]
        if info.bounds is not None and math.isfinite(mean):
            lo, hi = info.bounds
            near = min(mean - lo, hi - mean) / (hi - lo)
            if near <= bound_line:
                hits.append((1.0 - near, l, "bound", mean))
    if not hits:
        return None
    hits.sort(key=lambda h: -h[0])
    _, l, how, value = hits[0]
    layers = tuple(infos[h[1]].name for h in hits)
    name, act = infos[l].name, infos[l].activation
    if how == "fraction":
        return Finding(
            "saturation",
            f"Saturation: {value:.0%} of {name}'s {act} activations sit where |f'| < 1% of its "
            f"maximum (line {SATURATED:.0%}), so almost no gradient passes through them "
            f"({CS231N}: with W = 1.0 randn every tanh unit is pinned at -1 or +1).",
            layers,
            "act_saturated",
            value,
            SATURATED,
            ">",
            CS231N,
        )
    lo, hi = infos[l].bounds
    bound = lo if value - lo < hi - value else hi
    return Finding(
        "saturation",
        f"Saturation: {name}'s mean {act} activation has been driven to {value:.3g}, within "
        f"{BOUND:.0%} of its range from the bound {bound:g}, where its slope and the learning "
        f"of the layers below fade ({GLOROT}, fig. 2: the top sigmoid layer saturates at 0).",
        layers,
        "act_mean",
        value,
        lo + BOUND * (hi - lo) if bound == lo else hi - BOUND * (hi - lo),
        "<" if bound == lo else ">",
        GLOROT,
    )


def _check_dead(st, infos, H, on) -> Finding | None:
    line = DEAD - (FRACTION_MARGIN if on else 0.0)
    dead = [
        (st["act_dead"][l], l)
        for l in range(H)
        if infos[l].saturates != "none" and math.isfinite(st["act_dead"][l])
    ]
    hits = sorted(((d, l) for d, l in dead if d >= line), key=lambda h: -h[0])
    if not hits:
        return None
    frac, l = hits[0]
    return Finding(
        "dead",
        f"Dead units: {frac:.0%} of {infos[l].name}'s units pass no gradient for any example of "
        f"the probe batch (line {DEAD:.0%}), so their weights no longer learn ({CS231N}: as much "
        "as 40% of a ReLU network can die, often from a learning rate set too high).",
        tuple(infos[h[1]].name for h in hits),
        "act_dead",
        frac,
        DEAD,
        ">",
        CS231N,
    )


def _check_symmetric(symmetric, infos, H, on) -> Finding | None:
    if not symmetric:
        return None
    line = SYMMETRIC * (HYSTERESIS if on else 1.0)
    hits = sorted(
        ((d / u, l, d, u) for l, d, u in symmetric if l < H and d / u <= line),
        key=lambda h: h[0],
    )
    if not hits:
        return None
    _, l, distinct, units = hits[0]
    funcs = "one function" if distinct == 1 else f"only {distinct} distinct functions"
    return Finding(
        "symmetric",
        f"Symmetric units: the {units} units of {infos[l].name} compute {funcs} and receive "
        f"identical gradients, so they never differentiate ({CS231N}: a constant or zero "
        "initialisation gives every neuron the same output, gradient and update).",
        tuple(infos[h[1]].name for h in hits),
        "distinct units / units",
        distinct / units,
        SYMMETRIC,
        "<",
        CS231N,
    )


def _check_exploding(st, infos, H, on, input_std) -> Finding | None:
    grow = _relax(DEPTH_GROW, on, True)
    per_grow = 1.0 + (PER_LAYER_GROW - 1.0) / (HYSTERESIS if on else 1.0)
    names = [i.name for i in infos[:H]]
    trend = depth_trend(st["delta_norm"][:H]) if H >= 2 else None
    if trend is not None:
        per_up, total_up = trend
        down = 1.0 / total_up  # growth going down, from the last hidden layer to the first
        if down >= grow and 1.0 / per_up >= per_grow:
            return Finding(
                "exploding",
                f"Exploding gradients: the back-propagated gradient grows {down:.3g}x from "
                f"{names[-1]} down to {names[0]} ({1 / per_up:.2f}x a layer; line "
                f"{DEPTH_GROW:g}x), so the first layers take huge, erratic steps ({NIELSEN}: "
                "every factor |w f'(z)| > 1 multiplies the gradient once more).",
                (names[0],),
                "delta_norm depth trend",
                down,
                DEPTH_GROW,
                ">",
                NIELSEN,
            )
    trend = depth_trend(st["act_std"][:H]) if H >= 2 else None
    if trend is not None and trend[1] >= grow and trend[0] >= per_grow:
        return Finding(
            "exploding",
            f"Exploding activations: the activation std grows {trend[1]:.3g}x from {names[0]} "
            f"up to {names[-1]} ({trend[0]:.2f}x a layer; line {DEPTH_GROW:g}x), and the "
            f"gradients grow with them ({CS231N}: weights too large for the activation).",
            (names[-1],),
            "act_std depth trend",
            trend[1],
            DEPTH_GROW,
            ">",
            CS231N,
        )
    if input_std > 0 and H >= 1:
        line = _relax(INPUT_EXPLODE, on, True)
        ratio = np.asarray(st["act_std"][:H], dtype=np.float64) / input_std
        if np.isfinite(ratio).any() and np.nanmax(ratio) >= line:
            l = int(np.nanargmax(ratio))
            return Finding(
                "exploding",
                f"Exploding activations: {names[l]}'s activation std is {ratio[l]:.3g}x the "
                f"input's {input_std:.3g} (line {INPUT_EXPLODE:g}x), and its gradients grow with "
                f"it ({CS231N}: weights too large for the activation).",
                tuple(n for n, r in zip(names, ratio) if r >= line),
                "act_std / input std",
                float(ratio[l]),
                INPUT_EXPLODE,
                ">",
                CS231N,
            )
    return None


def _check_vanishing(st, infos, H, on) -> Finding | None:
    if H < 2:
        return None
    shrink = _relax(DEPTH_SHRINK, on, True)
    per_line = 1.0 - (1.0 - PER_LAYER_SHRINK) / (HYSTERESIS if on else 1.0)
    trend = depth_trend(st["delta_norm"][:H])
    if trend is None:
        return None
    per_up, total_up = trend  # going up: > 1 when the gradient shrinks going down
    if total_up < shrink or 1.0 / per_up > per_line:
        return None
    names = [i.name for i in infos[:H]]
    speed = st["bias_grad_norm"]
    learn = ""
    if math.isfinite(speed[0]) and math.isfinite(speed[H - 1]) and speed[0] > 0:
        learn = (
            f"; the speed of learning ||dC/db|| is {speed[0]:.2g} in {names[0]} against "
            f"{speed[H - 1]:.2g} in {names[-1]}"
        )
    return Finding(
        "vanishing",
        f"Vanishing gradients: the back-propagated gradient shrinks {total_up:.3g}x from "
        f"{names[-1]} down to {names[0]} ({1 / per_up:.2f}x a layer; line {DEPTH_SHRINK:g}x)"
        f"{learn}, so the first layers learn slowest ({NIELSEN}; {GLOROT}, fig. 7).",
        (names[0],),
        "delta_norm depth trend",
        total_up,
        DEPTH_SHRINK,
        ">",
        NIELSEN,
    )


def _check_collapse(st, infos, H, on, input_std) -> Finding | None:
    if H < 1:
        return None
    names = [i.name for i in infos[:H]]
    std = np.asarray(st["act_std"][:H], dtype=np.float64)
    if input_std > 0 and np.isfinite(std).any():
        line = _relax(INPUT_COLLAPSE, on, False)
        ratio = std / input_std
        if np.nanmin(ratio) <= line:
            l = int(np.nanargmin(ratio))
            below = tuple(n for n, r in zip(names, ratio) if r <= line)
            where = f"{below[0]} to {below[-1]}" if len(below) > 1 else below[0]
            return Finding(
                "collapse",
                f"Collapsing activations in {where}: {names[l]}'s activation std is "
                f"{std[l]:.2g}, {ratio[l]:.2g} of the input's {input_std:.2g} (line "
                f"{INPUT_COLLAPSE:g}), so the weight gradients that depend on it vanish too "
                f"({CS231N}: with W = 0.01 randn every activation becomes zero layer after "
                "layer).",
                below,
                "act_std / input std",
                float(ratio[l]),
                INPUT_COLLAPSE,
                "<",
                CS231N,
            )
    trend = depth_trend(std) if H >= 2 else None
    if trend is None:
        return None
    shrink = _relax(DEPTH_SHRINK, on, True)
    per_line = 1.0 - (1.0 - PER_LAYER_SHRINK) / (HYSTERESIS if on else 1.0)
    per, total = trend
    if 1.0 / total < shrink or per > per_line:
        return None
    return Finding(
        "collapse",
        f"Collapsing activations: the activation std shrinks {1 / total:.3g}x from {names[0]} "
        f"({std[0]:.2g}) up to {names[-1]} ({std[-1]:.2g}), {per:.2f}x a layer (line "
        f"{DEPTH_SHRINK:g}x), so the layers above see ever smaller inputs ({CS231N}: ReLU with "
        "Xavier init halves the variance every layer; W = 0.01 randn shrinks it faster).",
        (names[-1],),
        "act_std depth trend",
        1.0 / total,
        DEPTH_SHRINK,
        ">",
        CS231N,
    )


def _in_depth_order(names: list[str], hits: list[tuple[float, int]]) -> tuple[str, ...]:
    """The names of the layers in ``hits`` ((value, layer index) pairs) in network order, first
    hidden layer first: "dense1, dense2, dense9", not by value."""
    return tuple(names[l] for l in sorted({h[1] for h in hits}))


def _check_updates(st, infos, on_frozen, on_thrash) -> list[Finding]:
    ratio = np.asarray(st["update_ratio"], dtype=np.float64)
    names = [i.name for i in infos]
    out = []
    if not np.isfinite(ratio).any():
        return out
    line = _relax(FROZEN, on_frozen, False)
    frozen = [(r, l) for l, r in enumerate(ratio)
              if math.isfinite(r) and r <= line and infos[l].trainable]  # (not frozen on purpose)
    if frozen:
        frozen.sort()
        r, l = frozen[0]
        out.append(
            Finding(
                "frozen",
                f"Frozen: {names[l]}'s weights change by {r:.2g} of their size per update, "
                f"far below the healthy ~1e-3 (line {FROZEN:g}), so the layer is not learning "
                f"({CS231N}: watch the ratio of update to weight magnitudes).",
                _in_depth_order(names, frozen),
                "update_ratio",
                r,
                FROZEN,
                "<",
                CS231N,
                worst=names[l],
            )
        )
    line = _relax(THRASHING, on_thrash, True)
    thrash = [(r, l) for l, r in enumerate(ratio) if math.isfinite(r) and r >= line]
    if thrash:
        thrash.sort(reverse=True)
        r, l = thrash[0]
        out.append(
            Finding(
                "thrashing",
                f"Thrashing: {names[l]}'s weights change by {r:.2g} of their size per update, "
                f"far above the healthy ~1e-3 (line {THRASHING:g}), so each step overwrites "
                f"what the last one learned ({CS231N}: the learning rate is probably too high).",
                _in_depth_order(names, thrash),
                "update_ratio",
                r,
                THRASHING,
                ">",
                CS231N,
                worst=names[l],
            )
        )
    return out


def judge_probe(
    stats: Mapping[str, np.ndarray],
    layers: Sequence[LayerInfo],
    *,
    input_std: float,
    symmetric: Sequence[tuple[int, int, int]] = (),
    active: Iterable[str] = (),
) -> list[Finding]:
    """Every verdict one probe's statistics (``stats[name]``: (L,), output layer last) support,
    worst first. ``symmetric`` is :func:`symmetric_units` of the network; ``active`` the kinds
    already standing (their lines are relaxed by :data:`HYSTERESIS`)."""
    active = set(active)
    H = len(layers) - 1  # hidden layers
    found: list[Finding | None] = [
        _check_saturation(stats, layers, H, "saturation" in active),
        _check_dead(stats, layers, H, "dead" in active),
        _check_symmetric(symmetric, layers, H, "symmetric" in active),
        _check_exploding(stats, layers, H, "exploding" in active, input_std),
        _check_vanishing(stats, layers, H, "vanishing" in active),
        _check_collapse(stats, layers, H, "collapse" in active, input_std),
        *_check_updates(stats, layers, "frozen" in active, "thrashing" in active),
    ]
    return sorted((f for f in found if f is not None), key=_rank)


def judge_evaluations(
    train_losses: Sequence[float], chance: float | None, *, active: bool = False
) -> Finding | None:
    """``stuck`` if the last :data:`STUCK_EVALS` scheduled training losses (after step 0) all
    stayed above (1 - STUCK_TOLERANCE) x ``chance`` (a standing verdict ends only when a loss
    gets below (1 - 2 STUCK_TOLERANCE) x chance)."""
    if chance is None or not chance > 0 or len(train_losses) < STUCK_EVALS:
        return None
    tol = STUCK_TOLERANCE * (HYSTERESIS if active else 1.0)
    recent = [float(v) for v in train_losses[-STUCK_EVALS:]]
    if not all(math.isfinite(v) and v >= (1.0 - tol) * chance for v in recent):
        return None
    return Finding(
        "stuck",
        f"Stuck at chance: over {STUCK_EVALS} evaluations the training loss (last "
        f"{recent[-1]:.4g}) has not got below {chance:.4g}, the loss of a constant guess (ln C "
        "for C balanced classes), so the network predicts no better than the class frequencies "
        f"({CS231N}: a loss that does not move means the learning rate is too low or the "
        "gradients do not arrive).",
        (),
        "train_loss / chance",
        recent[-1] / chance,
        1.0 - STUCK_TOLERANCE,
        ">",
        CS231N,
    )


def _rank(f: Finding | Mapping[str, Any]) -> tuple[int, int]:
    kind = f.kind if isinstance(f, Finding) else f.get("kind", "")
    sev = f.severity if isinstance(f, Finding) else f.get("severity", "warning")
    order = KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
    return (-SEVERITY_RANK.get(sev, 2), order)


# ---------------------------------------------------------------------------------- symmetry
def symmetric_units(net: Network, rtol: float = 1e-6) -> list[tuple[int, int, int]]:
    """(block index, distinct units, units) for every hidden block of two or more units whose
    output no dropout follows: a unit is its incoming weights, bias and batch-norm parameters
    and its outgoing weights in the next block; units equal to within ``rtol`` of the largest
    entry compute the same function and receive the same gradient forever."""
    out = []
    mods = net.modules
    for k, mod in enumerate(mods):
        if not isinstance(mod, Dense) or mod is net.blocks[-1] or mod.units < 2:
            continue
        parts = [_per_unit(mod.params["W"].T, mod.units)]
        if "b" in mod.params:
            parts.append(_per_unit(mod.params["b"][:, None], mod.units))
        if mod.bn is not None:
            for key in ("gamma", "beta"):
                parts.append(_per_unit(mod.bn.params[key][:, None], mod.units))
        dropped = mod.dropout is not None and mod.dropout.rate > 0
        for nxt in mods[k + 1 :]:
            if isinstance(nxt, Dense):
                parts.append(nxt.params["W"])  # (units, next width): row j leaves unit j
                break
            if isinstance(nxt, Dropout) and nxt.rate > 0:
                dropped = True
            elif isinstance(nxt, BatchNorm):
                parts.extend(nxt.params[key][:, None] for key in ("gamma", "beta"))
        if not dropped:
            out.append((mod.index - 1, _distinct_units(parts, rtol), mod.units))
    return out


def _per_unit(cols: np.ndarray, units: int) -> np.ndarray:
    """(units * pieces, n) rows -> (units, pieces * n): a maxout unit's pieces side by side
    (a view when pieces is 1)."""
    return cols if cols.shape[0] == units else cols.reshape(units, -1)


def _distinct_units(parts: Sequence[np.ndarray], rtol: float) -> int:
    """How many distinct rows the side-by-side ``parts`` (units, n_i) have, rows equal within
    rtol x the largest entry counting as one. Rows are sorted by a random projection (no copy
    of the weights); only neighbours in that order, which a random init never has, are compared
    entry by entry."""
    units = parts[0].shape[0]
    if not all(np.isfinite(p).all() for p in parts):
        return units
    scale = max(float(max(p.max(), -p.min())) for p in parts if p.size)
    if scale == 0.0:
        return 1
    tol = rtol * scale
    rng = np.random.default_rng(0)
    key = np.zeros(units)
    key_tol = 0.0
    for p in parts:
        r = rng.standard_normal(p.shape[1]).astype(p.dtype)
        with np.errstate(all="ignore"):  # (a sort key: matmul may raise stale FP flags)
            key += p @ r
        key_tol += tol * float(np.abs(r).sum())
    order = np.argsort(key, kind="stable")
    close = np.diff(key[order]) <= key_tol
    if not close.any():
        return units  # every unit its own: the common case
    # runs of neighbours closer than the tolerance are the only candidates for copies
    bounds = np.flatnonzero(~close) + 1
    groups = np.split(order, bounds)
    distinct = sum(1 for g in groups if len(g) == 1)
    for g in groups:
        if len(g) == 1:
            continue
        reps: list[np.ndarray] = []
        for j in g:
            row = np.concatenate([p[j].astype(np.float64) for p in parts])
            if not any(np.max(np.abs(row - rep)) <= tol for rep in reps):
                reps.append(row)
        distinct += len(reps)
    return distinct
