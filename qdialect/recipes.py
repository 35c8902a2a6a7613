"""Intel Neural Compressor's `recipes` in a quantization config: the ones this quantizer runs.

    "recipes": {"smooth_quant": true, "smooth_quant_args": {"alpha": 0.5}}

INC spells a recipe as a flag plus, for SmoothQuant, an argument dict; the keys here are its
keys. Only what INC's ONNX adaptor honours is read (`alpha`, `folding`); INC's other recipes
(graph-level ONNX Runtime options, layer-wise quantization, ...) and `alpha: "auto"` are not
implemented, so they are errors that list what is valid rather than options that silently do
nothing. INC clamps an alpha outside [0, 1] with a warning; a config here is rejected instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RECIPE_KEYS = ("smooth_quant", "smooth_quant_args")
SMOOTH_QUANT_ARGS = ("alpha", "folding")


class RecipeError(ValueError):
    """A recipe key or value this quantizer does not implement; the message names it."""


@dataclass(frozen=True)
class SmoothQuantRecipe:
    """INC's ONNX SmoothQuant as its adaptor runs it: `alpha` migrates quantization difficulty
    from activations (alpha → 1) to weights (alpha → 0); scales are per op, folded into the
    producer of the op's input (`folding`, INC's ONNX default, is the only form we have: the
    float IR has no elementwise multiply to insert instead)."""

    alpha: float = 0.5


def read_recipes(value: Any) -> SmoothQuantRecipe | None:
    """The SmoothQuant recipe of a config's `recipes` value, None when it is off."""
    if not isinstance(value, dict):
        raise RecipeError("'recipes' must be a JSON object")
    unknown = sorted(set(value) - set(RECIPE_KEYS))
    if unknown:
        raise RecipeError(f"unknown recipe '{unknown[0]}' (valid: {', '.join(RECIPE_KEYS)})")
    enabled = value.get("smooth_quant", False)
    if not isinstance(enabled, bool):
        raise RecipeError(f"recipe 'smooth_quant' must be true or false, got {enabled!r}")
    args = value.get("smooth_quant_args", {})
    if not isinstance(args, dict):
        raise RecipeError("recipe 'smooth_quant_args' must be a JSON object")
    recipe = _smooth_quant_args(args)
    return recipe if enabled else None


def _smooth_quant_args(args: dict[str, Any]) -> SmoothQuantRecipe:
    unknown = sorted(set(args) - set(SMOOTH_QUANT_ARGS))
    if unknown:
        raise RecipeError(
            f"unknown smooth_quant_args key '{unknown[0]}' (valid: {', '.join(SMOOTH_QUANT_ARGS)})"
        )
    if args.get("folding", True) is not True:
        raise RecipeError(
            "smooth_quant_args 'folding' must be true: the float IR has no elementwise multiply "
            "to insert where INC's unfolded form puts one"
        )
    alpha = args.get("alpha", 0.5)
    if isinstance(alpha, bool) or not isinstance(alpha, int | float):
        raise RecipeError(
            f"smooth_quant_args 'alpha' must be a number in [0, 1], got {alpha!r}"
            + (" (INC's alpha tuning is not implemented)" if alpha == "auto" else "")
        )
    if not 0.0 <= alpha <= 1.0:
        raise RecipeError(f"smooth_quant_args 'alpha' must be in [0, 1], got {alpha!r}")
    return SmoothQuantRecipe(float(alpha))
