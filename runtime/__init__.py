"""Runtime: the `qopt` driver, and (to come) the reference interpreter and the JIT."""
