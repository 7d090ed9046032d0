"""``python -m mockcti``, and the ``mockcti`` command (:func:`entry`, the console script's entry point)."""

import signal
import sys


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def entry() -> int:
    """The ``mockcti`` command: :func:`mockcti.cli.main`, imported here rather than by the console script. Ctrl-C
    or SIGTERM while it is imported (the command line module and argparse: the first instants of a CI job, which may
    be cancelled then) is exit status 130 / 143 without a traceback; the console script imported mockcti.cli itself,
    where a Ctrl-C was a KeyboardInterrupt traceback (status -2) and a SIGTERM killed the process (-15)."""
    try:
        signal.signal(signal.SIGTERM, _terminated)  # (until mockcti.cli.main installs its own)
    except (ValueError, OSError, AttributeError):  # not the main thread, no SIGTERM here
        pass
    try:
        from mockcti.cli import main
    except KeyboardInterrupt:
        return 130
    return main()


if __name__ == "__main__":
    sys.exit(entry())
