"""The `katas` commands, one module each; `cli` picks the module."""
