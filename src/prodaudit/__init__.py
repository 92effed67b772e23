"""prodaudit: production-readiness audit of Python backends and bots, from the code itself."""

__version__ = "0.1.0"
