"""The quantizer's error (its own module: the quantizer's helper passes raise it too)."""


class QuantizeError(ValueError):
    """The quantizer cannot proceed; the message names the tensor or node."""
