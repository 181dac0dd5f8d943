"""rejected@7: import is not allowed

The first move of every escape: import os and run a command from a hook.
A policy imports nothing; its constants, types and helpers are in scope.
"""
INTERFACE_VERSION = (1, 1)
import os


def policy_init(ctx):
    os.system("id")


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []
