"""Rewrite passes over the `quant`/`qnn` dialects (see rewrites.registry for the names)."""
