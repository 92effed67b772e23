import sys

from prodaudit.cli import main

sys.exit(main())
