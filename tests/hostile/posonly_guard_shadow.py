"""rejected@15: positional-only parameters

A positional-only parameter named like a guard rebinds it for the whole
function: _getattr_ becomes whatever the caller passes, and attribute reads
are no longer checked (RestrictedPython advisory GHSA-ffg3-p8fm-mjx2, whose
underscore check skipped positional-only parameters).
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    pass


def folio_added(_getattr_, /):
    pass


def select_victims(ctx, request):
    return []
