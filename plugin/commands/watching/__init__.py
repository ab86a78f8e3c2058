"""The parts of `katas watch`: which kata, which saves count, keys, pytest runs, and what to print."""
