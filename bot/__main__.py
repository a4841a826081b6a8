"""``python -m bot`` does what the ``spendbot`` command does."""

import sys

from bot.cli import main

sys.exit(main())
