import os

# Rules that crash must fail the tests, not become internal-error findings.
os.environ.setdefault("PRODAUDIT_STRICT", "1")
