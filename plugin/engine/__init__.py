"""The engine: load an ASGI app, fire requests at it, measure its event loop, judge and explain. It knows no kata."""
