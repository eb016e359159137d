"""Every field of a spec outside the network and the data, declared once as a
:class:`~gradlab.params.Param`: its default, its bounds and its help text.

The resolver validates through these declarations; the window's Training panel is built from them
(its rows, their tooltips and the values a field shows before it is set); ``gradlab`` documents
them. The optimiser, the schedule and the loss are named components whose own parameters the
engine declares (:mod:`gradlab.experiment.spec.catalog`).
"""

from __future__ import annotations

from typing import Any

from gradlab.engine import losses, optimizers, schedules
from gradlab.params import Param, by_name

# ====================================================================== top level
NAME = Param(
    "name",
    "str",
    "untitled",
    "The run's name: a preset's name while the settings are the preset's, "
    "'custom (from <preset>)' once they differ, unless you name it yourself (File > Rename).",
    label="Name",
)
SEED = Param(
    "seed",
    "int",
    0,
    "Seeds the data, the initial weights, the batch order and dropout: the same seed gives the "
    "same run.",
    minimum=0,
    maximum=2**63 - 1,
    label="Seed",
)
DTYPE = Param(
    "dtype",
    "choice",
    "float32",
    "The floating-point type of the weights and activations.",
    choices=("float32", "float64"),
    choice_help=(
        "Single precision: fast, what GPUs train in.",
        "Double precision: slower; for gradient checks and very deep nets.",
    ),
    label="Precision",
)
#: keys that name or describe a run without changing what it computes
NAMING_KEYS = ("name", "description", "reference", "preset")
#: fields that say how long a run goes and how closely it is watched, not what it computes: a
#: preset run for more steps, or probed more often, keeps the preset's name
NOT_IDENTITY = (
    "training.steps",
    "training.epochs",
    "training.eval_every",
    "training.diverge_factor",
    "probes",
)
TOP_KEYS = (
    "name",
    "description",
    "reference",
    "preset",
    "seed",
    "dtype",
    "data",
    "network",
    "training",
    "probes",
)

# ====================================================================== training
OPTIMIZER = Param(
    "optimizer",
    "choice",
    "adam",
    "The update rule (hover an item for its formula).",
    choices=tuple(optimizers.names()),
    choice_help=tuple(optimizers.info(n).description for n in optimizers.names()),
    label="Optimiser",
)
LR = Param(
    "lr",
    "float",
    None,
    "Learning rate η: the size of each step (Up/Down step by a quarter decade); the schedule "
    "starts from it. Unset: the optimiser's own default. Changed during a run, it applies from "
    "the next step and the run records the change.",
    exclusive_minimum=0.0,
    maximum=1e30,  # far beyond any sane rate: divergence demos use absurd ones (CS231n)
    log=True,
    optional=True,
    label="Learning rate",
)
SCHEDULE = Param(
    "schedule",
    "choice",
    "constant",
    "How the learning rate changes with the step (hover an item for its rule).",
    choices=tuple(schedules.names()),
    choice_help=tuple(schedules.info(n).description for n in schedules.names()),
    label="Schedule",
)
BATCH_SIZE = Param(
    "batch_size",
    "int",
    32,
    "Examples per gradient step: smaller batches give noisier gradients and more steps per epoch.",
    minimum=1,
    maximum=1_000_000,
    label="Batch size",
)
STEPS = Param(
    "steps",
    "int",
    None,
    "Train for this many updates (batches).",
    minimum=0,
    maximum=10**9,
    optional=True,
    label="Steps",
)
EPOCHS = Param(
    "epochs",
    "float",
    None,
    "Train for this many passes over the training set.",
    exclusive_minimum=0.0,
    maximum=1e6,
    optional=True,
    label="Epochs",
)
LOSS = Param(
    "loss",
    "choice",
    "softmax_cross_entropy",
    "The cost minimised (hover an item for its formula).",
    choices=tuple(losses.names()),
    choice_help=tuple(losses.REGISTRY.get(n).description for n in losses.names()),
    label="Loss",
)
CLIP = Param(
    "clip",
    "choice",
    None,
    "Gradient clipping: none, by global norm (rescale the whole gradient so its L2 norm is at "
    "most the threshold, Pascanu et al.) or by value (clip every entry to [-c, c]).",
    choices=(None, "norm", "value"),
    choice_help=(
        "No gradient clipping.",
        "Rescale the whole gradient so its global L2 norm is at most the threshold "
        "(Pascanu et al.).",
        "Clip every gradient entry to [-threshold, threshold].",
    ),
    optional=True,
    label="Clip",
)
CLIP_THRESHOLD = Param(
    "threshold",
    "float",
    5.0,
    "The clipping threshold c (> 0).",
    exclusive_minimum=0.0,
    label="Threshold",
)
L1 = Param(
    "l1",
    "float",
    0.0,
    "L1 penalty λ₁·Σ|w| on the weights (drives weights to 0).",
    minimum=0.0,
    label="L1 λ₁",
)
L2 = Param(
    "l2",
    "float",
    0.0,
    "L2 penalty ½·λ₂·Σw² on the weights (weight decay).",
    minimum=0.0,
    label="L2 λ₂",
)
MAX_NORM = Param(
    "max_norm",
    "float",
    None,
    "Max-norm constraint: after each step, rescale every unit's incoming weight vector to "
    "norm ≤ c (Srivastava et al. used 3-4 with dropout).",
    exclusive_minimum=0.0,
    optional=True,
    label="Max-norm c",
)
EVAL_EVERY = Param(
    "eval_every",
    "int",
    "auto",
    "Measure the train and validation loss and accuracy every N steps (auto: about once an "
    "epoch, between 20 and 500 steps).",
    minimum=1,
    auto=True,
    label="Evaluate every",
)
DIVERGE_FACTOR = Param(
    "diverge_factor",
    "float",
    3.0,
    "Stop the run when the loss (running mean) exceeds this many times its initial value "
    "(CS231n); 0 turns it off.",
    minimum=0.0,
    label="Stop at loss ×",
)
EARLY_STOPPING = Param(
    "early_stopping",
    "bool",
    False,
    "Early stopping (Keras' EarlyStopping): stop when the monitored metric has not improved for "
    "`patience` evaluations, at the weights of the best evaluation if asked; the run ends with "
    "the status 'stopped early'. In a spec: false, true (the defaults) or "
    '{"monitor": "val_loss", "patience": 10, "min_delta": 0, "restore_best_weights": true}.',
    label="Early stopping",
)
#: the settings of ``training.early_stopping`` when it is on (Keras' names and semantics)
EARLY_STOPPING_PARAMS = (
    Param(
        "monitor",
        "choice",
        "val_loss",
        "The metric watched at each evaluation (losses must fall, accuracies rise).",
        choices=("val_loss", "val_acc", "train_loss", "train_acc"),
        choice_help=(
            "Validation loss (the default; the training loss when there is no validation set).",
            "Validation accuracy.",
            "Loss on the fixed training subset.",
            "Accuracy on the fixed training subset.",
        ),
        label="Monitor",
    ),
    Param(
        "patience",
        "int",
        10,
        "Evaluations without improvement after which the run stops (counted as Keras counts "
        "epochs: the first evaluation after step 0 never stops the run).",
        minimum=0,
        maximum=1_000_000,
        label="Patience",
    ),
    Param(
        "min_delta",
        "float",
        0.0,
        "The smallest change of the metric that counts as an improvement.",
        minimum=0.0,
        label="Min delta",
    ),
    Param(
        "restore_best_weights",
        "bool",
        True,
        "At the end, put back the weights of the best evaluation (Keras restores them whenever "
        "training ends, stopped early or not).",
        label="Restore best",
    ),
)
EARLY_STOPPING_BY_NAME = by_name(EARLY_STOPPING_PARAMS)
MC_DROPOUT = Param(
    "mc_dropout",
    "int",
    0,
    "MC dropout: also evaluate with dropout kept on, averaging the predictions of this many "
    "stochastic passes (Gal & Ghahramani; 0 = off). Its accuracy is shown beside the plain one.",
    minimum=0,
    maximum=1000,
    label="MC dropout passes",
)
TRAINING = (
    OPTIMIZER,
    LR,
    SCHEDULE,
    BATCH_SIZE,
    STEPS,
    EPOCHS,
    LOSS,
    CLIP,
    L1,
    L2,
    MAX_NORM,
    EVAL_EVERY,
    DIVERGE_FACTOR,
    EARLY_STOPPING,
    MC_DROPOUT,
)

# ====================================================================== probes
PROBES = (
    Param(
        "every",
        "int",
        "auto",
        "Take the layer statistics every N steps (auto: every 10 at first, then as often as "
        "10% of the time allows). A probe is always taken at step 0, before any update.",
        minimum=1,
        auto=True,
        label="Every",
    ),
    Param(
        "per_decade",
        "int",
        10,
        "Probes dense early, where initialisation effects live: this many log-spaced probes per "
        "decade of steps (1-10, 10-100, 100-1,000, ...) besides every N steps, so the first "
        "hundred steps get about 18 probes and a long run only a few more. 0: every N steps only.",
        minimum=0,
        maximum=100,
        label="Early probes / decade",
    ),
    Param(
        "bins",
        "int",
        51,
        "Histogram bins of the probed distributions (odd, so 0 sits mid-bin).",
        minimum=4,
        maximum=1000,
        label="Bins",
    ),
    Param(
        "jacobian_every",
        "int",
        10,
        "Measure the layer-to-layer Jacobian's singular values at every N-th probe (1 = every "
        "probe, 0 = never; it is the costliest statistic).",
        minimum=0,
        label="Jacobian every",
    ),
    Param(
        "jacobian_examples",
        "int",
        2,
        "Examples the Jacobian's singular values are averaged over.",
        minimum=1,
        maximum=64,
        label="Jacobian examples",
    ),
    Param(
        "batch",
        "int",
        512,
        "Examples of the fixed probe batch the statistics are measured on.",
        minimum=1,
        maximum=1_000_000,
        label="Probe batch",
    ),
    Param(
        "capacity",
        "int",
        1000,
        "Probes kept in the history; past it, older probes are thinned evenly (the step-0 probe "
        "always stays).",
        minimum=8,
        maximum=1_000_000,
        label="Kept probes",
    ),
)

TRAINING_BY_NAME = by_name(TRAINING)
PROBES_BY_NAME = by_name(PROBES)
TRAINING_KEYS = tuple(TRAINING_BY_NAME)
PROBE_KEYS = tuple(PROBES_BY_NAME)
DEFAULT_TRAINING: dict[str, Any] = {p.name: p.default for p in TRAINING}
DEFAULT_PROBES: dict[str, Any] = {p.name: p.default for p in PROBES}

#: what an optional field shows (and takes) when it is switched on, by name: a budget of 1,000
#: steps or 10 epochs, a max-norm of 3, a cosine schedule over 1,000 steps, 1,000 training
#: examples; and the number an "auto" interval starts from when set by hand
SUGGESTED: dict[str, Any] = {
    "every": 10,
    "eval_every": 100,
    "steps": 1000,
    "epochs": 10.0,
    "max_norm": 3.0,
    "total_steps": 1000,
    "max_train": 1000,
}


def suggested(param: Param) -> Any:
    """The value an optional field takes when switched on (its default when that is set)."""
    if param.default is not None and param.default != "auto":
        return param.default
    if param.name in SUGGESTED:
        return SUGGESTED[param.name]
    lo = param.minimum if param.minimum is not None else param.exclusive_minimum
    return 10 if param.auto else (1 if lo is None else lo + (1 if param.kind == "int" else 1.0))


def optimizer_lr(name: str) -> float:
    """The learning rate an optimiser uses when the spec gives none (its declared default)."""
    try:
        cls = optimizers.info(name)
    except ValueError:
        cls = optimizers.info(OPTIMIZER.default)
    return next(p.default for p in cls.params if p.name == "lr")
