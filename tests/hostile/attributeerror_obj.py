"""rejected@11: try statements are not allowed

AttributeError.obj hands out the object an attribute was looked up on: a
module the guard refused to read from is then in the policy's hands
(RestrictedPython advisory GHSA-5rgv-jj7r-hc2f, CVE-2024-47532).
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    try:
        x = ctx.missing_helper
    except AttributeError as err:
        ctx.trace(str(err.obj))


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []
