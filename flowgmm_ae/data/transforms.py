"""Tensor-level image transforms: one resize at load time, and cheap batch augmentation per step."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def uint8_to_tensor(images: np.ndarray) -> torch.Tensor:
    """(N, H, W) or (N, H, W, C) uint8 → (N, C, H, W) float32 in [0, 1]."""
    array = np.asarray(images)
    if array.ndim == 3:
        array = array[:, None]
    elif array.ndim == 4:
        array = array.transpose(0, 3, 1, 2)
    else:
        raise ValueError(f"expected (N, H, W) or (N, H, W, C) images, got shape {array.shape}")
    return torch.from_numpy(np.ascontiguousarray(array)).float().div_(255.0)


def resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear, antialiased resize of a (N, C, H, W) batch to size × size (no-op if equal)."""
    if images.shape[-2:] == (size, size):
        return images
    out = F.interpolate(images, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return out.clamp_(0.0, 1.0)


def translate(images: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """A (N, C, H, W) batch whose output pixels sample each image ``offsets`` (N, 2: x, y) pixels
    further right and down, bilinearly, edges repeated: positive offsets move the content left and
    up."""
    n, _, h, w = images.shape
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = 1.0
    theta[:, 1, 1] = 1.0
    theta[:, 0, 2] = offsets[:, 0] * 2 / w
    theta[:, 1, 2] = offsets[:, 1] * 2 / h
    grid = F.affine_grid(theta.to(images.device), list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


def augment(
    images: torch.Tensor,
    generator: torch.Generator,
    max_shift: float = 2.0,
    intensity_jitter: float = 0.05,
) -> torch.Tensor:
    """Random translation of up to ``max_shift`` pixels and a small gain/offset jitter per image.

    Light augmentation of both labeled and unlabeled batches, the same for every method. On by
    default: validation does not tell it apart from no augmentation for flowgmm-ae on ChestXRay2017
    (benchmarks/results/defaults_sweep_chestxray2017/results.md), and the classifier baselines
    train with it as such classifiers usually do. Uses ``generator`` so a seeded run is
    reproducible."""
    n = images.shape[0]
    device = images.device
    if max_shift > 0:
        images = translate(images, (torch.rand(n, 2, generator=generator) * 2 - 1) * max_shift)
    if intensity_jitter > 0:
        gain = 1 + (torch.rand(n, 1, 1, 1, generator=generator) * 2 - 1) * intensity_jitter
        offset = (torch.rand(n, 1, 1, 1, generator=generator) * 2 - 1) * intensity_jitter
        images = images * gain.to(device) + offset.to(device)
    return images.clamp(0.0, 1.0)


FLIP_ROTATE_MODES = ("auto", "none", "labeled", "all")

# auto turns the labeled anomalies when the mean image is this close to its own flips and quarter
# turns (in units of the images' spread about it). Measured at 32 px on the training normals:
# PneumoniaMNIST 1.85, ChestXRay2017 2.53 (a chest has a top and a side), ISIC 2018 0.19 (a lesion
# has neither); on validation flips of the labeled anomalies cost PneumoniaMNIST and ChestXRay2017
# and gained on ISIC 2018 (docs/results.md, "More views of the labeled anomalies").
ORIENTATION_THRESHOLD = 0.5


def flip_rotate(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image of a (N, C, H, W) square batch under a random one of the eight symmetries of the
    square (quarter turns, each mirrored or not), drawn from ``generator``.

    More views of the few labeled anomalies than the shift/jitter of :func:`augment` gives, for
    images whose content has no preferred orientation (skin lesions): every output pixel is an
    input pixel, nothing is interpolated."""
    n, _, h, w = images.shape
    if h != w:
        raise ValueError(f"flip_rotate needs square images, got {h} x {w}")
    turns = torch.randint(4, (n,), generator=generator)
    mirror = torch.randint(2, (n,), generator=generator).bool()
    out = torch.where(mirror.to(images.device)[:, None, None, None], images.flip(-1), images)
    for k in (1, 2, 3):
        chosen = (turns == k).nonzero().flatten().to(images.device)
        if len(chosen):
            out[chosen] = torch.rot90(out[chosen], k, dims=(-2, -1))
    return out


def orientation_asymmetry(images: torch.Tensor) -> float:
    """How far the mean of a (N, C, H, W) square batch is from its own flips and quarter turns: the
    largest root-mean-square difference over the seven symmetries of the square, divided by the
    images' root-mean-square deviation from their mean. Near 0 for images without a preferred
    orientation (skin lesions); above 1 for chest X-rays."""
    images = images.float()
    mean = images.mean(0)
    spread = float((images - mean).pow(2).mean().sqrt())
    if spread == 0.0:
        return 0.0
    views = [torch.rot90(mean, k, dims=(-2, -1)) for k in (1, 2, 3)]
    views += [torch.rot90(mean.flip(-1), k, dims=(-2, -1)) for k in range(4)]
    return max(float((mean - view).pow(2).mean().sqrt()) for view in views) / spread


def resolve_flip_rotate(mode: str, images: torch.Tensor) -> str:
    """The flip mode a run uses: ``mode`` itself, or for ``auto`` "labeled" when the images have no
    preferred orientation (:func:`orientation_asymmetry` below :data:`ORIENTATION_THRESHOLD`) and
    "none" otherwise, so that no model learns that a turned image is an anomaly."""
    if mode != "auto":
        return mode
    return "labeled" if orientation_asymmetry(images) < ORIENTATION_THRESHOLD else "none"
