"""rejected@6: interface version (2, 0) cannot run

A policy written for a major version this simulator does not implement,
whose hooks may mean something else.
"""
INTERFACE_VERSION = (2, 0)


def policy_init(ctx):
    pass


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []
