"""Placeholder: being written; its fixtures will be registered through plugin.pytest_plugin."""
