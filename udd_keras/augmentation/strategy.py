"""Augmentation strategy strings, e.g. `"color_crop_cutout"`.

A strategy names the DSA operations to apply, joined by underscores. The order in
the string does not matter: operations always run as flip, colour, geometry (crop,
scale, rotate), cutout, the order of the IDC reference implementation.
"""

from dataclasses import dataclass

from udd_keras.errors import UddError

OPERATIONS = ("color", "crop", "cutout", "flip", "scale", "rotate")
GEOMETRIC_OPERATIONS = ("crop", "scale", "rotate")

MATCHING_STRATEGY = "color_crop_cutout"
EVALUATION_STRATEGY = "color_crop_cutout_flip_scale_rotate"


@dataclass(frozen=True)
class Strategy:
    """A parsed strategy string.

    Args:
        operations: the operation names, a subset of `OPERATIONS`, in canonical order.
    """

    operations: tuple[str, ...]

    @property
    def geometric(self) -> tuple[str, ...]:
        """The geometric operations present, in the order crop, scale, rotate."""
        return tuple(op for op in GEOMETRIC_OPERATIONS if op in self.operations)

    def __contains__(self, operation: str) -> bool:
        return operation in self.operations

    def __str__(self) -> str:
        return "_".join(self.operations) or "none"


def parse_strategy(strategy: str) -> Strategy:
    """Parses a strategy string such as `"color_crop_cutout"`.

    Args:
        strategy: operation names joined by `_`; `""` or `"none"` means no
            augmentation.

    Returns:
        A `Strategy` with the operations in canonical order.

    Raises:
        UddError: if an operation name is unknown.

    Example:
    >>> parse_strategy("cutout_color").operations
    ('color', 'cutout')
    """
    if isinstance(strategy, Strategy):
        return strategy
    if not isinstance(strategy, str):
        raise UddError(
            f"Augmentation strategy must be a string, got {strategy!r}; "
            f"use operations from {', '.join(OPERATIONS)} joined by '_'."
        )
    text = strategy.strip().lower()
    if text in ("", "none"):
        return Strategy(())
    names = text.split("_")
    unknown = [name for name in names if name not in OPERATIONS]
    if unknown:
        raise UddError(
            f"Unknown augmentation {unknown[0]!r} in strategy {strategy!r}; "
            f"allowed: {', '.join(OPERATIONS)} (joined by '_'), or 'none'."
        )
    return Strategy(tuple(op for op in OPERATIONS if op in names))
