"""rejected@1: does not state its interface version

A policy that does not say which interface it was written for: the core
cannot tell whether the hooks it defines mean what the core will call them
for.
"""


def policy_init(ctx):
    pass


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []
