pytest_plugins = ["plugin.pytest_plugin"]
