# The package's entry point loads the plugin, and the course with it (pyproject.toml lists the
# katas); naming both here keeps the course working where plugin autoloading is turned off.
pytest_plugins = ["fastapi_async_katas.pytest_plugin", "fastapi_async_katas.pytest_plugin.course"]
