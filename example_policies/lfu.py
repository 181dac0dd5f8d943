"""LFU: evict the folio used least often.

Each folio counts its uses (the policy's per-folio data): 1 when it comes
in, one more for every use the kernel sees (folio_accessed) and, in the
simulated machine, for a young PTE found when reclaim looks at it. The
folios of each count form a list, newest arrival at the head; reclaim
takes from the tail of the lowest non-empty count, so among equally used
folios the one that reached the count first goes first. That is
libCacheSim's LFU.c. Counts stop at MAX_FREQ, whose list then orders its
folios by last use: libCacheSim keeps counting, so the two part only when
every lower count is empty. A count is forgotten on eviction (no aging:
LFU's weakness is a folio that was hot long ago).

Hooks: policy_init, folio_added, folio_accessed, select_victims,
folio_putback. Helpers: list_create, list_add, list_len, list_peek,
folio_data, folio_set_data, folio_referenced, folio_lruvec, folio_type.
"""

INTERFACE_VERSION = (1, 2)

MAX_LRUVECS = 64
MAX_FREQ = 32
SCAN_BATCH = 1024  # the most folios one select_victims call looks at

# the list of folios used `freq` times on each (lruvec, type), keyed
# (lruvec * 2 + type) * MAX_FREQ + freq - 1
LISTS = ArrayMap(MAX_LRUVECS * 2 * MAX_FREQ)


def policy_init(ctx):
    for i in range(min(len(ctx.lruvecs), MAX_LRUVECS)):
        lruvec = ctx.lruvecs[i]
        for lru_type in LRU_TYPES:
            for freq in range(1, MAX_FREQ + 1):
                LISTS.update(list_key(lruvec * 2 + lru_type, freq), ctx.list_create(lruvec, lru_type, False, "lfu"))


def list_key(lruvec_type, freq):
    return lruvec_type * MAX_FREQ + freq - 1


def use(ctx, folio, uses):
    """The folio was used `uses` more times: to the head of its new count."""
    freq = min(ctx.folio_data(folio) + uses, MAX_FREQ)
    ctx.folio_set_data(folio, freq)
    ctx.list_add(LISTS.lookup(list_key(ctx.folio_lruvec(folio) * 2 + ctx.folio_type(folio), freq)), folio)


def folio_added(ctx, folios):
    for i in range(len(folios)):
        use(ctx, folios[i], 1)


def folio_accessed(ctx, folios):
    for i in range(len(folios)):
        use(ctx, folios[i], 1)


def select_victims(ctx, request):
    """The oldest of the lowest count; those found used since reclaim last
    looked count the use and stay."""
    lruvec_type = request.lruvec * 2 + request.lru_type
    for freq in range(1, MAX_FREQ + 1):
        lst = LISTS.lookup(list_key(lruvec_type, freq))
        if ctx.list_len(lst) > 0:
            oldest = ctx.list_peek(lst, min(request.nr_to_scan, SCAN_BATCH))
            young = ctx.folio_referenced(oldest)
            used = oldest[young > 0]
            for i in range(min(len(used), SCAN_BATCH)):
                use(ctx, used[i], 1)
            return Victims(oldest[young == 0], len(oldest))
    return Victims(ctx.list_peek(lst, 0), 0)


def folio_putback(ctx, folios, reasons):
    """What reclaim could not free keeps its count and goes back to its list
    (use(ctx, folio, 0): to the head)."""
    for i in range(len(folios)):
        use(ctx, folios[i], 0)
