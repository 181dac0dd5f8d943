"""rejected@10: with statements are not allowed

with calls __enter__ and __exit__ on whatever it is given, and __exit__ sees
(and can swallow) the exception that should eject the policy.
"""
INTERFACE_VERSION = (1, 1)


def policy_init(ctx):
    with ctx:
        pass


def folio_added(ctx, folios):
    pass


def select_victims(ctx, request):
    return []
