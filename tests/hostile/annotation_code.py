"""rejected@9: annotations are not allowed

An annotation is an expression evaluated when the def runs: module-level
code disguised as a type hint.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx: ().__class__.__bases__[0].__subclasses__()):
    pass


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []
