"""Subcommands of the ``mockcti`` CLI, one module each (see :mod:`mockcti.cli`)."""

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

FIELD_TAG_HELP = ("tag of a floating field the guides number differently, as MESSAGE.Field=TAG (the guide's field "
                  "name), e.g. SNAPSHOT_DEVICE_CONF.CallState=75 (ICM's tag; the uccx profile sends the UCCX page's "
                  "61, unconfirmed); repeatable")


MESSAGE_ID_HELP = ("wire number of a message whose number is unknown (reference §4, U: the mock uses provisional "
                   "numbers 0xFF01..0xFF07), e.g. QUERY_QUEUE_STATISTICS_REQ=259; repeatable")


#: what ``--quiet`` means, the same in every command that has it (run, fuzz, validate, serve): errors, warnings
#: and what a command cannot be used without (an address to connect to) — no progress, no result table, no
#: summary; the exit status is the verdict, and --json's output is printed all the same (it was asked for)
QUIET_HELP = ("print only errors and warnings{what}: no progress, no result tables or summary; the exit code is the "
              "verdict{json}")


#: what ``--retry-loop`` says the defaults are (mockcti.hub.HubConfig.retry_loop_times / retry_loop_gap, not
#: imported here: --help stays fast; tests/test_retry_loop_option.py checks they agree)
DEFAULT_RETRY_LOOP_TIMES = 3
DEFAULT_RETRY_LOOP_GAP = 1.0
#: the bounds of ``--retry-loop TIMES[,GAP]``
MAX_RETRY_LOOP_TIMES = 1_000_000
MAX_RETRY_LOOP_GAP = 3600.0

RETRY_LOOP_HELP = (f"PROTO-RETRY-LOOP (a mock rule, no Cisco source): the same refused request sent TIMES times in a "
                   f"row, each within GAP seconds of its refusal, is a violation (default "
                   f"{DEFAULT_RETRY_LOOP_TIMES},{DEFAULT_RETRY_LOOP_GAP:g}; GAP defaults to "
                   f"{DEFAULT_RETRY_LOOP_GAP:g}); 'off' turns the rule off")


def retry_loop(text: str) -> tuple[int, float]:
    """argparse type of ``--retry-loop``: ``TIMES[,GAP]`` or ``off`` as (times, gap) for HubConfig.retry_loop_times
    and retry_loop_gap (``off``: times 0). TIMES is a whole number from 2 (1 would call a single refused request a
    loop), GAP seconds above 0; anything else: an error showing the value and what is expected."""
    import argparse
    import math

    spec = text.strip()
    if spec.lower() == "off":
        return 0, DEFAULT_RETRY_LOOP_GAP
    expected = (f"expected TIMES[,GAP] (e.g. 5 or 5,0.5: TIMES a whole number from 2 to {MAX_RETRY_LOOP_TIMES:,}, "
                f"GAP seconds above 0 and at most {MAX_RETRY_LOOP_GAP:g}) or off")
    times_text, sep, gap_text = spec.partition(",")
    try:
        times = int(times_text)
        gap = float(gap_text) if sep else DEFAULT_RETRY_LOOP_GAP
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: {expected}") from None
    if times == 0:
        raise argparse.ArgumentTypeError(f"{text!r}: write off to turn the rule off; else {expected}")
    if not (2 <= times <= MAX_RETRY_LOOP_TIMES) or not (math.isfinite(gap) and 0 < gap <= MAX_RETRY_LOOP_GAP):
        raise argparse.ArgumentTypeError(f"{text!r}: {expected}")
    return times, gap


def retry_loop_config(value: tuple[int, float] | None) -> dict[str, Any]:
    """HubConfig's keyword arguments for a ``--retry-loop`` value: none when the option was left out."""
    if value is None:
        return {}
    return {"retry_loop_times": value[0], "retry_loop_gap": value[1]}


def file_path(text: str) -> str:
    """argparse type of an option naming a file (--center, --scenario, --replay): an empty one is refused. It
    read as the option left out (an unset variable in ``--center "$CENTER"``): serve ran the default center or
    no scenario, fuzz --replay '' ran a whole search instead of the replay, all without a word."""
    import argparse

    if not text:
        raise argparse.ArgumentTypeError("is empty: give the file (an unset variable in the command line?), or "
                                         "leave the option out")
    return text


def host_address(text: str) -> str:
    """argparse type of ``--host``: an empty one is refused. It bound every interface (0.0.0.0, what an empty
    host means to a socket), so an unset variable in ``--host "$HOST"`` put the mock on the network, while
    --help says loopback only unless told; ``--host 0.0.0.0`` says so."""
    import argparse

    if not text.strip():
        raise argparse.ArgumentTypeError("is empty: give the address to bind (127.0.0.1, the default, if the "
                                         "option is left out; 0.0.0.0 for every interface)")
    return text


def _numbered(items, example: str) -> dict[str, int]:
    """``KEY=NUMBER`` items (the number in any base ``int(x, 0)`` reads) as {KEY: NUMBER}; a malformed
    item: ValueError naming it and showing ``example``."""
    table: dict[str, int] = {}
    for item in items:
        key, sep, number = item.partition("=")
        try:
            if not sep:
                raise ValueError
            table[key.strip()] = int(number, 0)
        except ValueError:
            raise ValueError(f"{item!r}: expected {example}") from None
    return table


def with_message_ids(profile, items):
    """``profile`` with the ``--message-id NAME=NUMBER`` items (``Profile.with_type_ids``), the same for
    ``mockcti serve`` and ``mockcti decode``. A malformed item, an unknown message, one with a documented
    number, a number out of range or taken: ValueError naming it."""
    remap = {name.upper(): n for name, n in
             _numbered(items, "NAME=NUMBER, e.g. QUERY_QUEUE_STATISTICS_REQ=259").items()}
    if not remap:
        return profile
    try:
        return profile.with_type_ids(remap)
    except KeyError as exc:
        import difflib

        from mockcti.wire.dialect import PROVISIONAL_MESSAGE_TYPES

        names = sorted(m.name for m in PROVISIONAL_MESSAGE_TYPES)
        close = difflib.get_close_matches(str(exc.args[0]), names, n=1, cutoff=0.6)
        raise ValueError(f"unknown message {exc.args[0]!r}" + (f"; did you mean {close[0]}?" if close else "")
                         + f" (--message-id takes the messages whose number is unknown: {', '.join(names)})"
                         ) from None


def with_field_tags(profile, items):
    """``profile`` with the ``--field-tag MESSAGE.Field=TAG`` items (``Profile.with_field_tags``).
    A malformed item, an unknown message or field, a tag out of range or taken: ValueError naming it."""
    table = _numbered(items, "MESSAGE.Field=TAG, e.g. SNAPSHOT_DEVICE_CONF.CallState=75")
    return profile.with_field_tags(table) if table else profile


def renumbered(command: str, profile, args):
    """``profile`` with the command's ``--message-id`` and ``--field-tag`` options applied; None (the
    error said on stderr, naming the option) when one is bad — the caller exits 2."""
    for option, apply, items in (("--message-id", with_message_ids, args.message_id),
                                 ("--field-tag", with_field_tags, args.field_tag)):
        try:
            profile = apply(profile, items)
        except ValueError as exc:
            print(f"mockcti {command}: {option}: {exc}", file=sys.stderr)
            return None
    return profile


def renumbering_options(profile) -> list[str]:
    """The ``--message-id`` and ``--field-tag`` options that make ``profile`` from the stock profile of
    its name (the inverse of :func:`renumbered`): for a command line printed to repeat a run."""
    from mockcti.wire.dialect import PROFILES

    options: list[str] = []
    stock = PROFILES.get(profile.name)
    if stock is not None:
        for wid, mt in sorted(profile.by_wire_id.items()):
            if stock.by_wire_id.get(wid) is not mt:
                options += ["--message-id", f"{mt.name}={wid}"]
    for mt, name, tag in profile.field_tags:
        options += ["--field-tag", f"{mt.name}.{name}={tag}"]
    return options


def print_error(command: str, message: object) -> None:
    """``message`` on stderr, each of its lines opening with ``mockcti COMMAND: `` — an error that lists
    several mistakes (every one of a center file, one a line) reads as that many errors of the command."""
    for line in str(message).splitlines() or [""]:
        print(f"mockcti {command}: {line}", file=sys.stderr)


class Interrupts:
    """SIGINT and SIGTERM for a command with an event loop (run, serve), from before its loop starts to after it has
    ended: a handler that raises nothing records each signal (``caught``) and, while a loop is attached
    (:meth:`attach`), has that loop call ``on_signal(signum)`` (a signal that came before, at once on attaching).
    Exceptions raised where a signal landed, or asyncio's own handlers, left windows: a signal between the loop's
    start and its handlers cancelled nothing, or everything (serve exited 0 without starting or writing its report,
    and "Task was destroyed but it is pending!"); once asyncio had closed the loop it had put SIGTERM back to its
    default action (a kill while the reports were written) and one while it closed was lost ("Exception ignored
    ... signal wakeup fd"). ``signals``: those handled (serve leaves an ignored SIGINT ignored); :meth:`restore`
    puts the previous handlers back. Nothing is printed in the handler (a print it interrupted would raise)."""

    def __init__(self, signals: "tuple[int, ...] | None" = None) -> None:
        import signal

        self.signals = (signal.SIGINT, signal.SIGTERM) if signals is None else signals
        self.caught: list[int] = []
        self._loop: "asyncio.AbstractEventLoop | None" = None
        self._on_signal: Callable[[int], object] | None = None
        self._previous: dict[int, object] = {}

    def install(self) -> "Interrupts":
        import signal

        for sig in self.signals:
            try:
                self._previous[sig] = signal.signal(sig, self._handler)
            except (ValueError, OSError, RuntimeError):  # not the main thread, not on this platform
                pass
        return self

    def restore(self) -> None:
        import signal

        for sig, previous in self._previous.items():
            signal.signal(sig, previous)  # type: ignore[arg-type]
        self._previous.clear()

    def attach(self, loop: "asyncio.AbstractEventLoop", on_signal: Callable[[int], object]) -> None:
        """From now on (in the loop running, ``loop``) ``on_signal(signum)`` is called in ``loop`` for each signal;
        for the first one that came before, at once."""
        self._loop, self._on_signal = loop, on_signal
        if self.caught:
            loop.call_soon(on_signal, self.caught[0])

    def detach(self) -> None:
        """The loop is ending: signals are recorded only."""
        self._loop = self._on_signal = None

    def _handler(self, signum: int, frame: object) -> None:
        self.caught.append(signum)
        loop, on_signal = self._loop, self._on_signal
        if loop is not None and on_signal is not None:
            try:
                loop.call_soon_threadsafe(on_signal, signum)
            except RuntimeError:  # the loop has just closed
                pass
