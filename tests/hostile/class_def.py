"""rejected@9: class definitions are not allowed

A class brings __init_subclass__, metaclasses, descriptors and __del__:
code that runs when the core touches an object, not when the policy calls.
"""
INTERFACE_VERSION = (1, 1)


class Victim:
    def __del__(self):
        pass


def policy_init(ctx):
    pass


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []
