"""One module per op family: each turns an op into a `Kernel` (template, typed spec, args)."""
