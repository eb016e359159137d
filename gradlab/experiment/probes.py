"""Layer-wise probes: the statistics of DESIGN.md, one record per probe step, per dense block.

A probe runs its own forward and backward pass on a fixed sample of the training set (the probe
batch), with batch-norm running averages untouched and dropout masks from a generator of its own,
so probing never changes the course of training and successive probes look at the same inputs.

Notation per block l: ``z`` the pre-activation (the input of f), ``a = f(z)``, ``W``. The network's
loss is a batch mean, so its dL/dz holds 1/n of each example's gradient; the probes report the
*per-example* back-propagated gradient ``delta = n dL/dz = dL_i/dz_i`` (what Glorot & Bengio
histogram, independent of the probe batch size) and the batch-mean gradients dL/dW and dL/db that
training uses.

==================  ===========================================================================
stat                definition
==================  ===========================================================================
act_mean, act_std   mean and std of a over (example, unit)
act_p02, act_p98    2nd and 98th percentiles of a (linear interpolation, as numpy.percentile)
pre_mean, pre_std   mean and std of z
act_saturated       fraction of (example, unit) with |f'(z)| < 1% of max |f'| (the magnitude:
                    GELU and SiLU have negative slopes that still carry gradient)
act_dead            fraction of units with |f'(z)| < 1% of max |f'| for every example of the
                    probe batch (no gradient reaches their weights from any example)
delta_std           std of delta over (example, unit)
delta_norm          mean over examples of ||delta_i||_2
bias_grad_norm      ||dL/db||_2 = ||sum_i dL/dz_i||_2, Nielsen's speed of learning (with
                    batch-norm in the block: ||dL/dbeta||; a block without bias: the gradient a
                    bias would get)
wgrad_std, _norm    std and Frobenius norm of dL/dW
weight_std, _norm   std and Frobenius norm of W
update_ratio        ||W_after - W_before|| / ||W_before|| of the last update, the weights before
                    it as in CS231n's ratio (NaN before the first update)
jacobian_sv_mean    mean singular value of d a(l) / d a(l-1), a(0) = x, averaged over
                    ``jacobian_examples`` examples (NaN when not measured at this probe)
nonfinite           number of NaN/inf values among z, a, delta, dL/dW and W
==================  ===========================================================================

Histograms (``act``, ``pre``, ``delta``, ``wgrad``, ``weight``, and ``delta_log``, ``wgrad_log``
of log10|x| for the gradients, whose sizes span decades) are counts over ``bins`` equal bins of a
range shared by all hidden layers (so they overlay as in Glorot & Bengio's figures; the output
layer has a range of its own, as logits need not be on the scale of the hidden units), stored per
layer as (L, 2). The range of a quantity stays fixed while its values stay inside it, so
successive frames are comparable, and widens (never narrows) when a value escapes. An odd number
of bins (the default, 51) puts 0 in the middle of a bin rather than on an edge.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from gradlab.engine import Network
from gradlab.engine.activations import saturation_threshold
from gradlab.engine.losses import Loss

LAYER_STATS = (
    "act_mean",
    "act_std",
    "act_p02",
    "act_p98",
    "pre_mean",
    "pre_std",
    "act_saturated",
    "act_dead",
    "delta_std",
    "delta_norm",
    "bias_grad_norm",
    "wgrad_std",
    "wgrad_norm",
    "weight_std",
    "weight_norm",
    "update_ratio",
    "jacobian_sv_mean",
    "nonfinite",
)
HIST_QUANTITIES = ("act", "pre", "delta", "wgrad", "weight", "delta_log", "wgrad_log")
LOG_QUANTITIES = ("delta_log", "wgrad_log")

#: initial log10 range of the gradient histograms (widened in whole decades)
LOG_RANGE = (-10.0, 1.0)
#: the floor of a linear range's half-width (an all-zero quantity still gets a valid range)
MIN_HALF_WIDTH = 1e-12


def log_steps(per_decade: int, last: int = 10**9) -> frozenset[int]:
    """The log-spaced probe steps: round(10^(k / per_decade)) for k = 0, 1, ... up to ``last``
    (step 0 is always probed besides). With 10 a decade: 1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 20, 25,
    32, 40, 50, 63, 79, 100, 126, ...: dense at the start, where the effects of the
    initialisation live (Glorot & Bengio's figures 2-4 change most in the first epochs), and
    a fixed number per decade after, so a long run adds only a few. 0: none."""
    if per_decade <= 0:
        return frozenset()
    out = set()
    k = 0
    while True:
        s = round(10.0 ** (k / per_decade))
        if s > last:
            return frozenset(out)
        out.add(int(s))
        k += 1


@dataclass
class ProbeRecord:
    """One probe: per-layer stats (L,), histogram counts (L, bins) and their ranges (L, 2)."""

    step: int
    epoch: float
    loss: float
    lr: float
    stats: dict[str, np.ndarray]
    hists: dict[str, np.ndarray]
    ranges: dict[str, np.ndarray]
    jacobian: bool = False
    first_bad_layer: int | None = None  # index of the first block with a non-finite value
    extra: dict = field(default_factory=dict)


class HistRange:
    """The bin range of one quantity: fixed while values fit, widened when they escape.

    Linear quantities get [0, r] when every value so far is >= 0 (ReLU activations) and a
    symmetric [-r, r] otherwise, with r 10% beyond the largest magnitude at creation and 25%
    beyond it when widened (so a slowly growing quantity does not widen every frame).
    Log quantities widen by whole decades.
    """

    def __init__(self, log: bool):
        self.log = log
        self.lo: float | None = None
        self.hi: float | None = None

    def fit(self, vmin: float, vmax: float) -> bool:
        """Make the range hold [vmin, vmax]; True if it changed."""
        if not (math.isfinite(vmin) and math.isfinite(vmax)):
            return False
        first = self.lo is None
        if self.log:
            lo, hi = math.floor(vmin), math.floor(vmax) + 1.0
            if first:
                new_lo, new_hi = min(LOG_RANGE[0], lo), max(LOG_RANGE[1], hi)
            else:
                new_lo, new_hi = min(self.lo, lo), max(self.hi, hi)
        else:
            if not first and self.lo <= vmin and vmax <= self.hi:
                return False
            margin = 1.1 if first else 1.25
            if vmin >= 0.0 and (first or self.lo >= 0.0):
                new_lo = 0.0
                new_hi = max(vmax * margin, 0.0 if first else self.hi, MIN_HALF_WIDTH)
            else:
                m = max(abs(vmin), abs(vmax)) * margin
                r = max(m, MIN_HALF_WIDTH) if first else max(m, abs(self.lo), abs(self.hi))
                new_lo, new_hi = -r, r
        changed = (new_lo, new_hi) != (self.lo, self.hi)
        self.lo, self.hi = float(new_lo), float(new_hi)
        return changed

    def state(self) -> list[float | None]:
        return [self.lo, self.hi]


def bin_counts(x: np.ndarray, lo: float, hi: float, bins: int) -> np.ndarray:
    """Counts of x over ``bins`` equal bins [lo + k w, lo + (k + 1) w), w = (hi - lo) / bins,
    the top edge included in the last bin: (bins,) int64. Non-finite values are not counted.

    The same counts as ``np.histogram(x, bins, (lo, hi))`` but for values within rounding of a
    bin edge, which numpy compares against its rounded ``linspace`` edges (0.0 on the middle
    edge of a symmetric range can land one bin lower there); here a value on an edge always
    belongs to the bin above it, as the definition says. About three times faster (one
    multiply, one cast, one bincount). Values outside the range are clipped into the end bins;
    the caller keeps the range wide enough that none are.
    """
    idx = np.subtract(x.ravel(), lo, dtype=np.float64)
    idx *= bins / (hi - lo)
    idx += 1e-9  # a value on an edge (up to rounding) belongs to the bin above it
    if not np.isfinite(idx).all():
        idx = idx[np.isfinite(idx)]
    np.clip(idx, 0, bins - 1, out=idx)
    return np.bincount(idx.astype(np.intp), minlength=bins)


def _norm(x: np.ndarray) -> float:
    """The L2 (Frobenius) norm, accumulated in float64 whatever the dtype."""
    r = x.ravel()
    return (
        math.sqrt(float(np.dot(r, r)))
        if r.dtype == np.float64
        else math.sqrt(float(np.einsum("i,i->", r, r, dtype=np.float64)))
    )


def mean_singular_value(J: np.ndarray) -> float:
    """Mean singular value of each J[e] (k, m, n), averaged over e; through the eigenvalues of
    the smaller Gram matrix (half the work of an SVD)."""
    J = J.astype(np.float64, copy=False)
    m, n = J.shape[1:]
    G = J @ J.transpose(0, 2, 1) if m <= n else J.transpose(0, 2, 1) @ J
    ev = np.linalg.eigvalsh(G)
    return float(np.sqrt(np.clip(ev, 0.0, None)).mean())


class Prober:
    """Computes :class:`ProbeRecord` s for a network on a fixed probe batch.

    Parameters
    ----------
    net, loss : what to probe.
    x, y : the probe batch (a fixed sample of the training set).
    bins : histogram bins.
    jacobian_every : measure the Jacobians at every ``jacobian_every``-th probe (0: never),
        the first probe included.
    jacobian_examples : how many examples of the probe batch the Jacobians average over.
    seed : seeds the probe's own dropout masks (probe k uses ``default_rng([seed, k])``).
    """

    def __init__(
        self,
        net: Network,
        loss: Loss,
        x: np.ndarray,
        y: np.ndarray,
        *,
        bins: int = 51,
        jacobian_every: int = 10,
        jacobian_examples: int = 2,
        seed: int = 0,
    ):
        self.net = net
        self.loss = loss
        self.x = np.ascontiguousarray(x, dtype=net.dtype)
        self.y = y
        self.bins = bins
        self.jacobian_every = jacobian_every
        self.jacobian_examples = min(jacobian_examples, len(self.x))
        self.seed = seed
        self.count = 0  # probes taken
        self.scheduled = 0  # of which scheduled (the Jacobian schedule counts these)
        # the hidden layers share one bin range per quantity (so their histograms overlay and
        # compare), the output layer has its own: logits need not be on the scale of tanh units
        L = len(net.blocks)
        self.groups = [0] * (L - 1) + [1] if L > 1 else [0]
        n_groups = max(self.groups) + 1
        self.ranges = {
            q: [HistRange(q in LOG_QUANTITIES) for _ in range(n_groups)] for q in HIST_QUANTITIES
        }

    # ------------------------------------------------------------------ state
    def state(self) -> dict:
        return {
            "count": self.count,
            "scheduled": self.scheduled,
            "ranges": {q: [r.state() for r in rs] for q, rs in self.ranges.items()},
        }

    def load_state(self, state: dict) -> None:
        self.count = int(state["count"])
        self.scheduled = int(state.get("scheduled", state["count"]))
        for q, saved in state["ranges"].items():
            for r, (lo, hi) in zip(self.ranges[q], saved):
                r.lo, r.hi = lo, hi

    def input_mean_square(self) -> float:
        """Mean of x^2 over the probe batch (the theory's m(0))."""
        return float(np.mean(np.square(self.x, dtype=np.float64)))

    def input_variance(self) -> float:
        """Mean over input features of their variance over the probe batch (what a batch-norm
        on the first layer divides by: the features' means do not reach it)."""
        return float(np.mean(np.var(self.x, axis=0, dtype=np.float64)))

    def input_std(self) -> float:
        """Std of x over (example, feature): the reference the activations are judged
        against (CS231n prints it as the input layer's std)."""
        return float(np.std(self.x, dtype=np.float64))

    # ------------------------------------------------------------------ the probe
    def probe(
        self,
        step: int,
        epoch: float,
        lr: float,
        update_norms: dict[str, float] | None = None,
        scheduled: bool = True,
        weight_norms_before: dict[str, float] | None = None,
    ) -> ProbeRecord:
        """Probe the network as it is now (after ``step`` updates).

        ``update_norms`` maps block names to ||W_after - W_before|| of the last update and
        ``weight_norms_before`` to ||W_before||: ``update_ratio`` divides the one by the other
        (CS231n's ratio). Without ``weight_norms_before`` it divides by ||W|| now (after the
        update), which differs from CS231n's ratio by the update itself.

        ``scheduled=False`` marks an extra probe (taken at a pause): it does not advance the
        Jacobian schedule, and its dropout masks, like every probe's, depend only on the step,
        so extra probes never change what the scheduled ones measure.
        """
        net = self.net
        rng = np.random.default_rng([self.seed, step])
        with np.errstate(all="ignore"):
            out = net.forward(self.x, training=True, rng=rng, update_stats=False)
            loss, dout = self.loss(out, self.y)
            net.backward(dout, input_grad=False)
        with_jacobian = (
            scheduled and self.jacobian_every > 0 and self.scheduled % self.jacobian_every == 0
        )
        self.count += 1
        self.scheduled += int(scheduled)

        n = self.x.shape[0]
        L = len(net.blocks)
        stats = {k: np.full(L, np.nan) for k in LAYER_STATS}
        values: dict[str, list[np.ndarray]] = {q: [] for q in HIST_QUANTITIES}
        first_bad = None
        for i, blk in enumerate(net.blocks):
            z, a, dz = blk.taps["z"], blk.taps["a"], blk.taps["delta"]
            W, dW = blk.params["W"], blk.grads["W"]
            delta = dz * n  # per-example gradients dL_i/dz_i
            arrays = (z, a, delta, dW, W)
            bad = sum(int(v.size - np.count_nonzero(np.isfinite(v))) for v in arrays)
            stats["nonfinite"][i] = bad
            if bad and first_bad is None:
                first_bad = i
            if bad:
                z, a, delta, dW, W = (v[np.isfinite(v)] for v in arrays)
            self._layer_stats(stats, i, blk, z, a, delta, dz, W, dW, bad)
            if update_norms and blk.name in update_norms:
                wn = stats["weight_norm"][i]
                if weight_norms_before and blk.name in weight_norms_before:
                    wn = weight_norms_before[blk.name]
                stats["update_ratio"][i] = update_norms[blk.name] / wn if wn > 0 else np.nan
            values["act"].append(a)
            values["pre"].append(z)
            values["delta"].append(delta)
            values["wgrad"].append(dW)
            values["weight"].append(W)

        t_jacobian = 0.0
        if with_jacobian and first_bad is None:
            t0 = time.perf_counter()
            rows = slice(0, self.jacobian_examples)
            for i, J in enumerate(net.jacobians(rows)):
                stats["jacobian_sv_mean"][i] = mean_singular_value(J)
            t_jacobian = time.perf_counter() - t0

        hists, ranges = self._histograms(values)
        return ProbeRecord(
            step=step,
            epoch=epoch,
            loss=float(loss),
            lr=float(lr),
            stats=stats,
            hists=hists,
            ranges=ranges,
            jacobian=with_jacobian,
            first_bad_layer=first_bad,
            extra={"t_jacobian": t_jacobian},
        )

    def _layer_stats(self, stats, i, blk, z, a, delta, dz, W, dW, bad) -> None:
        """Fill layer i's statistics; a quantity with no finite value leaves its stats NaN."""
        if a.size:
            stats["act_mean"][i] = a.mean(dtype=np.float64)
            stats["act_std"][i] = a.std(dtype=np.float64)
            stats["act_p02"][i], stats["act_p98"][i] = np.percentile(a, (2.0, 98.0))
        if z.size:
            stats["pre_mean"][i] = z.mean(dtype=np.float64)
            stats["pre_std"][i] = z.std(dtype=np.float64)
        if not bad:
            thr = saturation_threshold(blk.act)
            flat = np.abs(blk.derivative()) < thr  # (batch, units): |f'|, slopes of either sign
            stats["act_saturated"][i] = flat.mean()
            stats["act_dead"][i] = flat.all(axis=0).mean()
            stats["bias_grad_norm"][i] = np.linalg.norm(dz.sum(axis=0, dtype=np.float64))
            stats["delta_norm"][i] = np.sqrt(
                np.einsum("ij,ij->i", delta, delta, dtype=np.float64)
            ).mean()
        if delta.size:
            stats["delta_std"][i] = delta.std(dtype=np.float64)
        if dW.size:
            stats["wgrad_std"][i] = dW.std(dtype=np.float64)
            stats["wgrad_norm"][i] = _norm(dW)
        if W.size:
            stats["weight_std"][i] = W.std(dtype=np.float64)
            stats["weight_norm"][i] = _norm(W)

    def _histograms(self, values: dict[str, list[np.ndarray]]):
        hists: dict[str, np.ndarray] = {}
        ranges: dict[str, np.ndarray] = {}
        L = len(values["act"])
        for q in HIST_QUANTITIES:
            if q in LOG_QUANTITIES:
                layers = []
                for v in values[q.removesuffix("_log")]:
                    v = np.abs(v.ravel())
                    v = v[v > 0]
                    layers.append(np.log10(v, dtype=np.float64))
            else:
                layers = values[q]
            counts = np.zeros((L, self.bins), np.int32)
            rng = np.zeros((L, 2))
            for g, r in enumerate(self.ranges[q]):
                members = [i for i in range(L) if self.groups[i] == g]
                finite = [layers[i] for i in members if layers[i].size]
                if finite:
                    r.fit(min(float(v.min()) for v in finite), max(float(v.max()) for v in finite))
                if r.lo is None:
                    r.fit(*LOG_RANGE) if r.log else r.fit(-1.0, 1.0)
                for i in members:
                    rng[i] = (r.lo, r.hi)
                    if layers[i].size:
                        counts[i] = bin_counts(layers[i], r.lo, r.hi, self.bins)
            hists[q] = counts
            ranges[q] = rng
        return hists, ranges
