"""Datasets for GradLab: 2-D toys, Shapeset-3x2, Gaussian inputs, an MNIST-like stand-in, the
user's IDX / NPZ / CSV files, MNIST, Fashion-MNIST and CIFAR-10 downloaded on demand
(:mod:`~gradlab.data.catalog`, :mod:`~gradlab.data.download`), and input preprocessing. No Qt, no
engine: plain NumPy.

>>> from gradlab import data
>>> ds = data.load({"name": "spiral", "noise": 0.2}, seed=0)
>>> ds.x_train.shape, ds.n_classes
((800, 2), 2)

``data.names()`` lists the datasets, ``data.info(name)`` describes one (its
:class:`~gradlab.params.Param` list builds the window's form), ``data.grid_for(ds, res)`` gives the
decision-boundary grid of a 2-D dataset and ``data.thumbnail_grid(x, shape)`` a preview image.
"""

# Importing the source modules registers their datasets (remote imports files first, then takes
# over the name "mnist", an alias of idx before MNIST could be downloaded).
from gradlab.data import files, remote, shapeset, synthetic, toys  # noqa: F401
from gradlab.data.base import Dataset, DatasetInfo, fallback_note, info, load, names
from gradlab.data.preprocess import METHODS as PREPROCESSING
from gradlab.data.thumbnails import thumbnail_grid
from gradlab.data.toys import grid_for

__all__ = [
    "PREPROCESSING",
    "Dataset",
    "DatasetInfo",
    "fallback_note",
    "grid_for",
    "info",
    "load",
    "names",
    "thumbnail_grid",
]
