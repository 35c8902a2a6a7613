"""C code generation from `qnn` ops (kernel specs and Jinja2 templates)."""
