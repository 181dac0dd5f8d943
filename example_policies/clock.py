"""CLOCK: second chance on the accessed bit.

One FIFO list per lruvec and type. Reclaim looks at the oldest folios: one
that was used since it was last looked at (a young PTE, or a read()/write()
the kernel saw) loses its mark and goes back to the head, a second chance;
the others are evicted. This is Corbato's CLOCK (1968) in its list form,
the "second chance" FIFO of libCacheSim's Clock.c with one bit.

Hooks: policy_init, folio_added, folio_accessed, select_victims,
folio_putback. Helpers: list_create, list_add, list_peek, folio_referenced,
folio_flags, folio_set_flags, folio_clear_flags. Everything is vectorised:
no per-folio loop, so the verifier's cost bound is a few dozen statements.
"""

INTERFACE_VERSION = (1, 1)

MAX_LRUVECS = 64
REFERENCED = PG_policy0  # set by read()/write(), cleared by the clock hand
SCAN_BATCH = 1024  # the most folios one select_victims call looks at

# the list of each (lruvec, type), keyed lruvec * 2 + type
LISTS = ArrayMap(MAX_LRUVECS * 2)


def policy_init(ctx):
    for i in range(min(len(ctx.lruvecs), MAX_LRUVECS)):
        lruvec = ctx.lruvecs[i]
        for lru_type in LRU_TYPES:
            LISTS.update(lruvec * 2 + lru_type, ctx.list_create(lruvec, lru_type, False, "clock"))


def add(ctx, folios, tail):
    """Each folio to the head (or the tail) of its lruvec's and type's list."""
    keys = ctx.folio_lruvec(folios) * 2 + ctx.folio_type(folios)
    for i in range(min(len(ctx.lruvecs), MAX_LRUVECS)):
        for lru_type in LRU_TYPES:
            key = ctx.lruvecs[i] * 2 + lru_type
            ctx.list_add(LISTS.lookup(key), folios[keys == key], tail)


def folio_added(ctx, folios):
    add(ctx, folios, False)


def folio_accessed(ctx, folios):
    ctx.folio_set_flags(folios, REFERENCED)


def select_victims(ctx, request):
    lst = LISTS.lookup(request.lruvec * 2 + request.lru_type)
    oldest = ctx.list_peek(lst, min(request.nr_to_scan, SCAN_BATCH))
    used = (ctx.folio_referenced(oldest) > 0) | ((ctx.folio_flags(oldest) & REFERENCED) != 0)
    second_chance = oldest[used]
    ctx.folio_clear_flags(second_chance, REFERENCED)
    ctx.list_add(lst, second_chance)
    return Victims(oldest[~used], len(oldest))


def folio_putback(ctx, folios, reasons):
    """What reclaim could not free goes back to the head; a folio whose
    writeback ended goes to the tail, to be freed next."""
    rotate = reasons == PutbackReason.ROTATE
    add(ctx, folios[~rotate], False)
    add(ctx, folios[rotate], True)
