"""The package's user-facing errors: each message says what went wrong and how to fix it.

The command line turns any :class:`FlowgmmAEError` into a message and a non-zero exit status."""


class FlowgmmAEError(Exception):
    """Base class of the errors a user can fix (bad data, bad options, unfinished run folders)."""


class ConfigError(FlowgmmAEError, ValueError):
    """An option a run cannot honour. The message names the TrainConfig field(s) (``fields``), as
    a Python caller set them; the command line adds the matching option names."""

    def __init__(self, message: str, *fields: str) -> None:
        super().__init__(message)
        self.fields = fields


DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str):
    """``auto`` → CUDA when PyTorch sees a GPU, else CPU; ``cuda`` without a GPU is an error."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise FlowgmmAEError("device='cuda' was asked for but PyTorch sees no CUDA device")
    if name not in DEVICES:
        raise FlowgmmAEError(f"unknown device {name!r}: choose {', '.join(DEVICES)}")
    return torch.device(name)
