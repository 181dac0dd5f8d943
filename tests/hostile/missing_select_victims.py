"""rejected@1: the required hook select_victims is not defined

A policy without select_victims: reclaim would have nothing to ask for its
victims.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    pass


def folio_added(ctx, folios):
    pass
