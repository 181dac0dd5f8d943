"""rejected@10: '__import__' begins with an underscore

__import__ is import as a function call, reachable by name where the
statement is refused.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    x = __import__("os")
    ctx.trace(str(x))


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []
