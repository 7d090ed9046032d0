import sys

from mockcti.cli import main

sys.exit(main())
