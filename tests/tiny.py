"""Tiny model settings shared by the tests: 16 px images, a 4 × 4 × 4 latent, narrow networks.

``TINY`` are TrainConfig keyword arguments; ``tiny_cli_args`` the same as command-line options."""

TINY = dict(
    dataset="synthetic",
    image_size=16,
    stride=4,
    latent_channels=4,
    flow_steps=2,
    base_width=8,
    flow_hidden=16,
    epochs=1,
    min_steps=0,
    progress=False,
)

_OPTIONS = (
    "image_size",
    "stride",
    "latent_channels",
    "flow_steps",
    "base_width",
    "flow_hidden",
    "epochs",
    "min_steps",
)


def tiny_cli_args(epochs: int = 1, dataset: str | None = None) -> list[str]:
    """The TINY settings as ``flowgmm-ae train`` options (no --dataset unless given)."""
    values = {**TINY, "epochs": epochs}
    args = [item for key in _OPTIONS for item in (f"--{key.replace('_', '-')}", str(values[key]))]
    return [*args, *(["--dataset", dataset] if dataset else []), "--quiet"]
