"""The package version, in a module of its own so that the command line can show it without
importing the package root."""

__version__ = "0.2.0"
