"""rejected@17: decorators are not allowed

A decorator runs code when the module loads and replaces the hook with
whatever it returns: the core would call that instead.
"""
INTERFACE_VERSION = (1, 1)


def wrap(fn):
    return fn


def policy_init(ctx):
    pass


@wrap
def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []
