"""A grid image of the first samples of an image dataset, for the window's data preview."""

from __future__ import annotations

import math

import numpy as np


def image_dims(image_shape: tuple[int, ...]) -> tuple[int, int, int]:
    """``(channels, h, w)`` of an image shape: ``(h, w)`` (grey) or ``(c, h, w)`` (``c``
    channel planes, as a row of CIFAR-10 holds them)."""
    dims = tuple(int(s) for s in image_shape)
    if len(dims) == 2:
        return (1, *dims)
    if len(dims) == 3:
        return dims
    raise ValueError(f"thumbnail_grid: an image shape is (h, w) or (channels, h, w), got "
                     f"{image_shape}")


def thumbnail_grid(x: np.ndarray, image_shape: tuple[int, ...], n: int = 64, cols: int = 8,
                   pad: int = 1, *, levels: tuple[float, float] | None = None,
                   pad_value: int = 128) -> np.ndarray:
    """Tile the first ``n`` samples into one uint8 image.

    Parameters
    ----------
    x : (N, c·h·w) rows, or (N, h, w) / (N, c, h, w) images. A row holds its ``c`` channel
        planes one after the other, each row-major (``x[k].reshape(c, h, w)`` is the image).
    image_shape : (h, w) for grey images, (c, h, w) for ``c`` channels: 1 (grey) or 3 (red,
        green, blue).
    n : number of samples shown, at most N.
    cols : cells per grid row (fewer when fewer samples are shown).
    pad : pixels of ``pad_value`` around and between cells.
    levels : (lo, hi) maps lo -> 0 and hi -> 255 for every sample (values outside are clipped);
        None rescales each sample over its own min..max, over all its channels so that colours
        keep their balance (a constant sample becomes 0).

    Returns
    -------
    (H, W) uint8 for grey images, (H, W, 3) uint8 RGB for colour ones, with H = rows·(h + pad)
    + pad and W = cols·(w + pad) + pad, rows = ceil(n / cols). Sample k sits in grid row
    k // cols, column k % cols, its top-left pixel at (pad + (k // cols)·(h + pad),
    pad + (k % cols)·(w + pad)). Cells without a sample hold ``pad_value``. No samples gives a
    (0, 0) (or (0, 0, 3)) array.
    """
    c, h, w = image_dims(image_shape)
    if c not in (1, 3):
        raise ValueError(f"thumbnail_grid: images of {c} channels cannot be shown (1 or 3)")
    x = np.asarray(x)
    if x.ndim >= 3:
        x = x.reshape(len(x), -1)
    if x.ndim != 2 or x.shape[1] != c * h * w:
        what = f"{h}x{w}" if c == 1 else f"{c}x{h}x{w}"
        raise ValueError(f"thumbnail_grid: samples of shape {x.shape[1:]} do not hold "
                         f"{what} images")
    if n < 0 or cols < 1 or pad < 0:
        raise ValueError(f"thumbnail_grid: needs n >= 0, cols >= 1, pad >= 0; got n={n}, "
                         f"cols={cols}, pad={pad}")
    tail = () if c == 1 else (3,)
    count = min(int(n), len(x))
    if count == 0:
        return np.zeros((0, 0, *tail), dtype=np.uint8)
    cols = min(int(cols), count)
    rows = math.ceil(count / cols)

    # (count, h, w, c): the planes of each row side by side per pixel
    imgs = x[:count].astype(np.float64).reshape(count, c, h, w).transpose(0, 2, 3, 1)
    if levels is not None:
        lo, hi = float(levels[0]), float(levels[1])
        if not hi > lo:
            raise ValueError(f"thumbnail_grid: levels must satisfy lo < hi, got {levels}")
        scaled = (imgs - lo) / (hi - lo)
    else:
        lo = imgs.min(axis=(1, 2, 3), keepdims=True)
        span = imgs.max(axis=(1, 2, 3), keepdims=True) - lo
        scaled = (imgs - lo) / np.where(span > 0, span, 1.0)
    u8 = np.round(np.clip(scaled, 0.0, 1.0) * 255.0).astype(np.uint8)

    cells = np.full((rows * cols, h + pad, w + pad, c), pad_value, dtype=np.uint8)
    cells[:count, :h, :w] = u8
    body = cells.reshape(rows, cols, h + pad, w + pad, c).transpose(0, 2, 1, 3, 4)
    grid = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), pad_value, dtype=np.uint8)
    grid[pad:, pad:] = body.reshape(rows * (h + pad), cols * (w + pad), c)
    return grid[..., 0] if c == 1 else grid
