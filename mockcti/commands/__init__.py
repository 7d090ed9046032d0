"""Subcommands of the ``mockcti`` CLI, one module each (see :mod:`mockcti.cli`)."""

FIELD_TAG_HELP = ("tag of a floating field the guides number differently, as MESSAGE.Field=TAG (the guide's field "
                  "name), e.g. SNAPSHOT_DEVICE_CONF.CallState=75 (ICM's tag; the uccx profile sends the UCCX page's "
                  "61, unconfirmed); repeatable")


def with_field_tags(profile, items):
    """``profile`` with the ``--field-tag MESSAGE.Field=TAG`` items (``Profile.with_field_tags``).
    A malformed item, an unknown message or field, a tag out of range or taken: ValueError naming it."""
    table: dict[str, int] = {}
    for item in items:
        key, sep, number = item.partition("=")
        try:
            if not sep:
                raise ValueError
            table[key.strip()] = int(number, 0)
        except ValueError:
            raise ValueError(f"{item!r}: expected MESSAGE.Field=TAG, e.g. SNAPSHOT_DEVICE_CONF.CallState=75") from None
    return profile.with_field_tags(table) if table else profile
