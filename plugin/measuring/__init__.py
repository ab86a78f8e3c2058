"""Measuring what happened on the event loop: blocked steps, and coroutines never awaited."""
