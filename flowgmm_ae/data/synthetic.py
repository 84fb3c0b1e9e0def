"""A generated, seeded data set for tests and offline demos.

Normal images are smooth random textures (a few oriented gratings plus fine noise). Anomalies are the
same kind of texture with one to three localised lesion-like blobs, brighter or darker than the
background and mottled inside, so an anomaly differs from a normal image only in a small region, as
in medical images.
"""

from __future__ import annotations

import numpy as np
import torch

from flowgmm_ae.data.base import ImageDataset, Split


def _textures(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    yy, xx = np.meshgrid(np.linspace(0, 1, size), np.linspace(0, 1, size), indexing="ij")
    images = np.full((n, size, size), 0.5)
    for _ in range(3):
        angle = rng.uniform(0, np.pi, (n, 1, 1))
        freq = rng.uniform(1.5, 4.0, (n, 1, 1))
        phase = rng.uniform(0, 2 * np.pi, (n, 1, 1))
        wave = np.sin(2 * np.pi * freq * (np.cos(angle) * xx + np.sin(angle) * yy) + phase)
        images += 0.08 * wave
    images += rng.normal(0, 0.03, images.shape)
    return images


def _add_lesions(rng: np.random.Generator, images: np.ndarray) -> np.ndarray:
    n, size, _ = images.shape
    yy, xx = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    for i in range(n):
        for _ in range(rng.integers(1, 4)):
            cy, cx = rng.uniform(0.2, 0.8, 2) * size
            ry, rx = rng.uniform(0.06, 0.14, 2) * size
            blob = np.exp(-0.5 * (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2))
            speckle = rng.normal(0, 0.15, (size, size))  # mottled, like an infiltrate
            images[i] += blob * (rng.choice([-1.0, 1.0]) * rng.uniform(0.25, 0.4) + speckle)
    return images


def _split(rng: np.random.Generator, n_normal: int, n_anomaly: int, size: int) -> Split:
    normal = _textures(rng, n_normal, size)
    anomalous = _add_lesions(rng, _textures(rng, n_anomaly, size))
    images = np.concatenate([normal, anomalous]).clip(0, 1).astype(np.float32)
    labels = np.concatenate([np.zeros(n_normal), np.ones(n_anomaly)]).astype(np.int64)
    order = rng.permutation(len(labels))
    return Split(torch.from_numpy(images[order][:, None].copy()), labels[order])


def make_synthetic(
    image_size: int = 32,
    n_train: tuple[int, int] = (600, 200),
    n_val: tuple[int, int] = (100, 100),
    n_test: tuple[int, int] = (200, 200),
    seed: int = 0,
) -> ImageDataset:
    """Generate (normal, anomaly) counts for each split at ``image_size``; same seed, same data."""
    rng = np.random.default_rng(seed)
    return ImageDataset(
        name="synthetic",
        train=_split(rng, *n_train, image_size),
        val=_split(rng, *n_val, image_size),
        test=_split(rng, *n_test, image_size),
        source=f"generated (seed {seed})",
    )
