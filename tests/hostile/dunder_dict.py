"""rejected@10: attribute '__dict__' begins with an underscore

An object's __dict__ holds every attribute the guards hide, the core's
context among them.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    x = ctx.__dict__
    ctx.trace(str(x))


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []
