import sys

from prodaudit.cli import entry

sys.exit(entry())
