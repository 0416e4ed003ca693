#!/usr/bin/env python3
"""Simulate a customer-journey interaction log for an online retailer.

This script makes the bundled example logs ``examples/shop.csv`` and ``examples/shop.jsonl``
and, with ``--events``, large logs for benchmarks. It uses the standard library only and one
``random.Random(seed)``, so the same arguments always give byte-identical output.

Usage::

    python examples/generate.py                          # 3000 journeys, CSV, to stdout
    python examples/generate.py -o examples/shop.csv
    python examples/generate.py --format jsonl -o examples/shop.jsonl
    python examples/generate.py --events 1000000 -o /tmp/bench1m.csv.gz   # gzip by suffix
    python examples/generate.py --journeys 500 --seed 7 --format jsonl -o -

Output columns, in this order::

    customer_id, timestamp, stage, channel, device, segment, converted, order_value, journey_id

``journey_id`` numbers the visits (``J0000001``…): a customer who comes back weeks later
starts a new journey under the same ``customer_id``, so ``--case customer_id
--journey-gap 14d`` gives the same journeys as ``journey_id`` does.
``timestamp`` is ISO 8601 UTC with a ``Z`` at second precision; ``device`` is empty for
phone, e-mail and store events; ``converted`` is ``true``/``false`` and is the same on every
row of a journey (true iff the journey holds a Purchase); ``order_value`` is set on Purchase
rows only. In JSON Lines an empty ``device`` or ``order_value`` is ``null``, ``converted`` is
a boolean and ``order_value`` a number (written with two decimals, as in the CSV).

The model
---------
Journeys start over 2024 at a rate that follows the season (a quiet February, summer sales,
a Black Friday / Cyber Monday spike, a pre-Christmas peak), the day of the week and the hour
of the day. Each journey belongs to a customer with a fixed segment (``new``, ``returning``,
``vip``, ``business``). Some customers come back for a later, separate visit: the next visit
starts at least 28 days after the previous one ended, while no wait inside a journey is
longer than 14 days, so any inactivity gap between those splits the visits exactly.

Inside a journey the stages follow a Markov chain whose state is the current stage plus a
phase (browsing, cart, after a purchase, return pending, refunded); every row of the
transition table lists its successors and an END weight (a dead-end). The weights are
multiplied by segment factors (vip buys more and phones more, new customers bounce more
and fail payment more, business customers search, reorder and e-mail more) and by period
factors: a payment-provider incident from 5 to 25 August doubles failed payments, and the
holiday season (25 November to 22 December) brings more ad clicks and purchases. The chain
yields search / product-view loops, skipped stages (a saved cart going from View Product
straight to Checkout, quick re-orders from Visit Site to Add to Cart), Payment Failed ->
Checkout retries, escalations Payment Failed -> Chat -> Email -> Phone Support, support
contacts and returns after a purchase, Return Request -> Refund, churn (Cancel Account) and
many dead-ends. About 30% of journeys reach a Purchase.

Browsing stages use the journey's own channel (``web`` or ``app``, the app's share growing
over the year) and keep its device; Chat Support is ``chat`` on that device, Email and Phone
Support are ``email`` and ``phone``, Store Visit (and a purchase right after it) is
``store``. Waits come from log-normal laws per transition: seconds between pages, minutes for
a chat or a retry, hours to days for e-mail replies, deliveries, returns and refunds, with an
occasional break in a session. A handful of events share a second with the one before.
Events after 2024-12-31T23:59:59Z are cut off, as in an export taken at the year's end.

Rows are written sorted by timestamp. Journeys are generated in order of their start and the
rows are buffered: each flush writes the rows older than the newest journey's start (no later
journey can produce them) and keeps the rest, so memory stays bounded by the journeys still
in flight and ``--events 10000000`` streams to the file.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import csv
import gzip
import heapq
import io
import json
import math
import random
import sys
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import IO

COLUMNS = (
    "customer_id", "timestamp", "stage", "channel", "device", "segment", "converted",
    "order_value", "journey_id",
)

AD, VISIT, SEARCH, VIEW = "Ad Click", "Visit Site", "Search", "View Product"
CART, CHECKOUT, FAILED, PURCHASE = "Add to Cart", "Checkout", "Payment Failed", "Purchase"
CHAT, EMAIL, PHONE = "Chat Support", "Email Support", "Phone Support"
RETURN, REFUND, CANCEL = "Return Request", "Refund", "Cancel Account"
STORE, NEWS = "Store Visit", "Newsletter Signup"
STAGES = (
    AD, VISIT, SEARCH, VIEW, CART, CHECKOUT, FAILED, PURCHASE,
    CHAT, EMAIL, PHONE, RETURN, REFUND, CANCEL, STORE, NEWS,
)
END = ""  # the journey stops here

SEGMENTS = ("new", "returning", "vip", "business")
SEGMENT_SHARE = (0.46, 0.34, 0.08, 0.12)
PHASES = ("browse", "cart", "post", "ret", "done")

DAY = 86_400
YEAR_START = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp())
YEAR_END = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
MAX_WAIT = 14 * DAY  # longest wait inside a journey
REVISIT_GAP = (28 * DAY, 120 * DAY)  # a later visit starts this long after the last ended
MAX_EVENTS = 60  # per journey
FLUSH_EVERY = 20_000  # journeys between flushes of the sorted buffer
SAME_SECOND = 0.0015  # chance that an event shares the second of the one before


def _ts(month: int, day: int) -> int:
    return int(datetime(2024, month, day, tzinfo=UTC).timestamp())


INCIDENT = (_ts(8, 5), _ts(8, 26))  # payment-provider incident
HOLIDAY = (_ts(11, 25), _ts(12, 23))  # holiday season
VARIANTS = ("normal", "incident", "holiday")

# --- transitions --------------------------------------------------------------------------
# (stage, phase) -> successor weights; phase "*" is the default for every phase.

TRANSITIONS: dict[tuple[str, str], dict[str, float]] = {
    (AD, "*"): {VISIT: 55, VIEW: 28, SEARCH: 5, END: 8},
    (VISIT, "*"): {SEARCH: 36, VIEW: 36, CART: 4, NEWS: 4, CHAT: 2, CANCEL: 1.2, END: 15},
    (SEARCH, "*"): {VIEW: 72, SEARCH: 12, END: 12},
    (VIEW, "browse"): {VIEW: 30, SEARCH: 8, CART: 34, CHECKOUT: 3, CHAT: 1.5, STORE: 0.8,
                       END: 19},
    (VIEW, "cart"): {VIEW: 22, SEARCH: 5, CART: 25, CHECKOUT: 25, END: 23},
    (VIEW, "*"): {VIEW: 20, SEARCH: 5, CART: 20, END: 55},
    (CART, "*"): {CHECKOUT: 58, VIEW: 18, SEARCH: 5, END: 17},
    (CHECKOUT, "*"): {PURCHASE: 70, FAILED: 11, CHAT: 2.5, END: 14},
    (FAILED, "*"): {CHECKOUT: 48, CHAT: 17, EMAIL: 3, PHONE: 3, END: 29},
    (PURCHASE, "*"): {END: 66, CHAT: 6, EMAIL: 5, PHONE: 2, RETURN: 9, NEWS: 5, VIEW: 6,
                      CANCEL: 0.6},
    (CHAT, "browse"): {VIEW: 30, SEARCH: 5, EMAIL: 10, PHONE: 6, END: 49},
    (CHAT, "cart"): {CHECKOUT: 38, EMAIL: 12, PHONE: 12, END: 38},
    (CHAT, "post"): {RETURN: 22, EMAIL: 12, PHONE: 8, END: 58},
    (CHAT, "ret"): {REFUND: 35, EMAIL: 15, PHONE: 10, END: 40},
    (CHAT, "done"): {EMAIL: 10, PHONE: 8, CANCEL: 6, END: 76},
    (EMAIL, "browse"): {VIEW: 25, PHONE: 10, END: 65},
    (EMAIL, "cart"): {CHECKOUT: 30, PHONE: 22, END: 48},
    (EMAIL, "post"): {RETURN: 22, PHONE: 14, END: 64},
    (EMAIL, "ret"): {REFUND: 40, PHONE: 15, END: 45},
    (EMAIL, "done"): {PHONE: 8, CANCEL: 8, END: 84},
    (PHONE, "browse"): {VIEW: 15, END: 85},
    (PHONE, "cart"): {CHECKOUT: 35, PURCHASE: 18, END: 47},
    (PHONE, "post"): {RETURN: 25, CANCEL: 4, END: 71},
    (PHONE, "ret"): {REFUND: 50, CANCEL: 6, END: 44},
    (PHONE, "done"): {CANCEL: 12, END: 88},
    (RETURN, "*"): {REFUND: 74, CHAT: 7, EMAIL: 6, PHONE: 4, END: 9},
    (REFUND, "*"): {END: 80, CANCEL: 9, EMAIL: 4, VIEW: 7},
    (CANCEL, "*"): {END: 1},
    (STORE, "*"): {PURCHASE: 38, NEWS: 6, VISIT: 14, END: 42},
    (NEWS, "*"): {END: 60, VIEW: 18, SEARCH: 10, CART: 2},
}
STARTS: dict[str, float] = {AD: 44, VISIT: 48, STORE: 8}

# Multipliers of successor weights by segment; "END<" applies to END while browsing or in
# the cart only.
SEGMENT_FACTORS: dict[str, dict[str, float]] = {
    "new": {PURCHASE: 0.8, CART: 0.9, NEWS: 1.8, FAILED: 1.3, "END<": 1.2},
    "returning": {},
    "vip": {PURCHASE: 1.3, CART: 1.3, PHONE: 1.6, RETURN: 1.4, FAILED: 0.7, CANCEL: 0.5,
            "END<": 0.75},
    "business": {SEARCH: 1.3, CHECKOUT: 1.3, EMAIL: 1.8, PHONE: 1.3, NEWS: 0.4, STORE: 0.3,
                 RETURN: 0.6, "END<": 0.9},
}
SEGMENT_STARTS: dict[str, dict[str, float]] = {
    "new": {AD: 1.5},
    "returning": {},
    "vip": {VISIT: 1.3, STORE: 1.3},
    "business": {STORE: 0.3},
}
VARIANT_FACTORS: dict[str, dict[str, float]] = {
    "normal": {},
    "incident": {FAILED: 2.5},
    "holiday": {PURCHASE: 1.1, CART: 1.1},
}
VARIANT_STARTS: dict[str, dict[str, float]] = {
    "normal": {}, "incident": {}, "holiday": {AD: 1.3, STORE: 1.3},
}

# Next phase after a stage: stages not listed keep the phase.
PHASE_AFTER = {CART: "cart", CHECKOUT: "cart", FAILED: "cart", PURCHASE: "post",
               RETURN: "ret", REFUND: "done"}

# --- waits ----------------------------------------------------------------------------------
# (stage, next stage) -> (median seconds, sigma of the log, chance of a break in the session)
MIN, HOUR = 60, 3600
WAITS: dict[tuple[str, str], tuple[float, float, float]] = {
    (AD, VISIT): (3, 0.5, 0), (AD, VIEW): (4, 0.5, 0), (AD, SEARCH): (8, 0.6, 0),
    (VISIT, SEARCH): (15, 0.8, 0.03), (VISIT, VIEW): (20, 0.9, 0.03),
    (VISIT, CART): (40, 0.8, 0.02), (VISIT, NEWS): (60, 1.0, 0), (VISIT, CHAT): (90, 1.0, 0),
    (VISIT, CANCEL): (120, 0.8, 0),
    (SEARCH, VIEW): (12, 0.8, 0.02), (SEARCH, SEARCH): (20, 0.7, 0.02),
    (VIEW, VIEW): (45, 0.9, 0.06), (VIEW, SEARCH): (25, 0.8, 0.05),
    (VIEW, CART): (50, 0.9, 0.05), (VIEW, CHECKOUT): (40, 0.8, 0.05),
    (VIEW, CHAT): (60, 1.0, 0), (VIEW, STORE): (2 * DAY, 0.8, 0),
    (CART, CHECKOUT): (90, 1.0, 0.15), (CART, VIEW): (30, 0.8, 0.05),
    (CART, SEARCH): (30, 0.8, 0.05),
    (CHECKOUT, PURCHASE): (90, 0.7, 0), (CHECKOUT, FAILED): (70, 0.6, 0),
    (CHECKOUT, CHAT): (120, 0.9, 0),
    (FAILED, CHECKOUT): (120, 1.0, 0.12), (FAILED, CHAT): (90, 0.9, 0.05),
    (FAILED, EMAIL): (10 * MIN, 1.0, 0.2), (FAILED, PHONE): (30 * MIN, 1.2, 0.2),
    (CHAT, EMAIL): (4 * HOUR, 1.0, 0), (CHAT, PHONE): (2 * HOUR, 1.2, 0),
    (CHAT, CHECKOUT): (5 * MIN, 0.9, 0), (CHAT, VIEW): (2 * MIN, 0.9, 0),
    (CHAT, SEARCH): (2 * MIN, 0.9, 0), (CHAT, RETURN): (HOUR, 1.2, 0),
    (CHAT, REFUND): (2 * DAY, 0.8, 0), (CHAT, CANCEL): (10 * MIN, 1.0, 0),
    (EMAIL, PHONE): (1.5 * DAY, 0.8, 0), (EMAIL, CHECKOUT): (20 * HOUR, 1.0, 0),
    (EMAIL, VIEW): (20 * HOUR, 1.0, 0), (EMAIL, RETURN): (DAY, 0.9, 0),
    (EMAIL, REFUND): (2 * DAY, 0.8, 0), (EMAIL, CANCEL): (DAY, 0.9, 0),
    (PHONE, CHECKOUT): (10 * MIN, 1.0, 0), (PHONE, PURCHASE): (15 * MIN, 0.6, 0),
    (PHONE, RETURN): (2 * HOUR, 1.5, 0), (PHONE, REFUND): (3 * DAY, 0.7, 0),
    (PHONE, CANCEL): (5 * MIN, 0.8, 0), (PHONE, VIEW): (HOUR, 1.2, 0),
    (PURCHASE, CHAT): (3 * DAY, 0.7, 0), (PURCHASE, EMAIL): (3 * DAY, 0.7, 0),
    (PURCHASE, PHONE): (3 * DAY, 0.7, 0), (PURCHASE, RETURN): (8 * DAY, 0.4, 0),
    (PURCHASE, NEWS): (MIN, 0.8, 0), (PURCHASE, VIEW): (2 * MIN, 1.0, 0.5),
    (PURCHASE, CANCEL): (10 * DAY, 0.4, 0),
    (RETURN, REFUND): (5 * DAY, 0.4, 0), (RETURN, CHAT): (2 * DAY, 0.7, 0),
    (RETURN, EMAIL): (2 * DAY, 0.7, 0), (RETURN, PHONE): (2 * DAY, 0.7, 0),
    (REFUND, VIEW): (3 * DAY, 0.8, 0), (REFUND, CANCEL): (DAY, 1.2, 0),
    (REFUND, EMAIL): (DAY, 0.8, 0),
    (STORE, PURCHASE): (15 * MIN, 0.6, 0), (STORE, NEWS): (10 * MIN, 0.6, 0),
    (STORE, VISIT): (DAY, 1.0, 0),
    (NEWS, VIEW): (30, 0.8, 0.1), (NEWS, SEARCH): (30, 0.8, 0.1), (NEWS, CART): (40, 0.8, 0.1),
}
DEFAULT_WAIT = (60.0, 1.0, 0.05)
BREAK_WAIT = (6 * HOUR, 1.0)  # a customer leaves and comes back later

# --- channels, devices, values --------------------------------------------------------------
DIGITAL = frozenset({AD, VISIT, SEARCH, VIEW, CART, CHECKOUT, FAILED})
APP_SHARE = {"new": 0.15, "returning": 0.35, "vip": 0.5, "business": 0.08}
APP_GROWTH = 0.12  # extra app share by the end of the year
WEB_DEVICES = {  # desktop, mobile, tablet
    "new": (0.40, 0.52, 0.08), "returning": (0.50, 0.42, 0.08),
    "vip": (0.50, 0.42, 0.08), "business": (0.80, 0.15, 0.05),
}
APP_TABLET = 0.15
REVISIT = {"new": 0.06, "returning": 0.12, "vip": 0.25, "business": 0.15}
ORDER_MEDIAN = {"new": 45.0, "returning": 60.0, "vip": 120.0, "business": 220.0}
ORDER_SIGMA = 0.6

# --- seasonality ----------------------------------------------------------------------------
MONTH_RATE = (0.95, 0.8, 0.9, 0.9, 0.95, 0.9, 1.0, 0.9, 0.95, 1.0, 1.4, 1.35)
WEEKDAY_RATE = (1.0, 0.97, 0.97, 1.0, 1.05, 1.1, 1.15)  # Monday first
HOUR_RATE = (0.35, 0.22, 0.15, 0.12, 0.12, 0.18, 0.35, 0.6, 0.85, 1.0, 1.05, 1.1,
             1.2, 1.15, 1.05, 1.0, 1.05, 1.15, 1.35, 1.55, 1.6, 1.4, 1.0, 0.6)
SPECIAL_DAYS = {(11, 29): 2.6, (11, 30): 1.6, (12, 1): 1.4, (12, 2): 2.0,  # Black Friday
                (12, 24): 0.6, (12, 25): 0.45, (12, 26): 0.7, (1, 1): 0.6}


def _hour_table() -> list[float]:
    """Cumulative start intensity per hour of 2024."""
    cumulative, total = [], 0.0
    for h in range((YEAR_END - YEAR_START) // HOUR):
        when = datetime.fromtimestamp(YEAR_START + h * HOUR, UTC)
        rate = MONTH_RATE[when.month - 1] * WEEKDAY_RATE[when.weekday()] * HOUR_RATE[when.hour]
        total += rate * SPECIAL_DAYS.get((when.month, when.day), 1.0)
        cumulative.append(total)
    return cumulative


Table = dict[tuple[str, str], tuple[list[float], list[str]]]


def _cumulate(weights: dict[str, float]) -> tuple[list[float], list[str]]:
    cumulative, total = [], 0.0
    for weight in weights.values():
        total += weight
        cumulative.append(total)
    return cumulative, list(weights)


def _tables() -> dict[tuple[str, str], tuple[Table, tuple[list[float], list[str]]]]:
    """(segment, variant) -> (transition table, start table)."""
    tables = {}
    for segment in SEGMENTS:
        for variant in VARIANTS:
            factors = {**SEGMENT_FACTORS[segment]}
            for target, factor in VARIANT_FACTORS[variant].items():
                factors[target] = factors.get(target, 1.0) * factor
            table: Table = {}
            for stage in STAGES:
                for phase in PHASES:
                    base = TRANSITIONS.get((stage, phase)) or TRANSITIONS[(stage, "*")]
                    weights = {}
                    for target, weight in base.items():
                        if target == END:
                            if phase in ("browse", "cart"):
                                weight *= factors.get("END<", 1.0)
                        else:
                            weight *= factors.get(target, 1.0)
                        weights[target] = weight
                    table[(stage, phase)] = _cumulate(weights)
            starts = {
                stage: weight * SEGMENT_STARTS[segment].get(stage, 1.0)
                * VARIANT_STARTS[variant].get(stage, 1.0)
                for stage, weight in STARTS.items()
            }
            tables[(segment, variant)] = (table, _cumulate(starts))
    return tables


class Simulator:
    """Generates journeys in order of their start and yields their rows sorted by time."""

    def __init__(self, seed: int, journeys: int | None, events: int | None) -> None:
        self.rng = random.Random(seed)
        self.journeys = journeys
        self.events = events
        self.tables = _tables()
        self.hours = _hour_table()
        self.waits = {
            key: (math.log(median), sigma, brk) for key, (median, sigma, brk) in WAITS.items()
        }
        self.default_wait = (math.log(DEFAULT_WAIT[0]), DEFAULT_WAIT[1], DEFAULT_WAIT[2])
        self.break_wait = (math.log(BREAK_WAIT[0]), BREAK_WAIT[1])
        self.segment_cum = list(_running(SEGMENT_SHARE))
        # Customer numbers are scrambled by a bijection on 0 .. 10**digits - 1.
        bound = journeys if journeys is not None else max(events or 1, 1)
        self.digits = max(6, len(str(bound - 1)))
        self.id_space = 10 ** self.digits
        self.customers = 0
        self.returning: list[tuple[int, int, str, str]] = []  # (eligible, n, id, segment)
        self.journeys_made = 0
        self.events_made = 0

    def _start_time(self, u: float) -> int:
        hours = self.hours
        x = u * hours[-1]
        h = bisect.bisect_right(hours, x)
        if h >= len(hours):
            h = len(hours) - 1
        below = hours[h - 1] if h else 0.0
        within = (x - below) / (hours[h] - below)
        return YEAR_START + h * HOUR + min(int(within * HOUR), HOUR - 1)

    def _new_customer(self) -> tuple[str, str]:
        self.customers += 1
        number = (self.customers * 387_420_489) % self.id_space
        r = self.rng.random()
        segment = SEGMENTS[min(bisect.bisect_right(self.segment_cum, r), len(SEGMENTS) - 1)]
        return f"C{number:0{self.digits}d}", segment

    def _journey(self, start: int, segment: str) -> list[list]:
        """Events of one journey as [None, timestamp, stage, channel, device, value] rows."""
        rng = self.rng
        random_ = rng.random
        gauss = rng.gauss
        waits = self.waits
        default_wait = self.default_wait
        log_break, sigma_break = self.break_wait
        variant = ("incident" if INCIDENT[0] <= start < INCIDENT[1]
                   else "holiday" if HOLIDAY[0] <= start < HOLIDAY[1] else "normal")
        table, (start_cum, start_stages) = self.tables[(segment, variant)]

        app_share = APP_SHARE[segment] + APP_GROWTH * (start - YEAR_START) / (YEAR_END - YEAR_START)
        if random_() < app_share:
            own_channel = "app"
            device = "tablet" if random_() < APP_TABLET else "mobile"
        else:
            own_channel = "web"
            desktop, mobile, _ = WEB_DEVICES[segment]
            r = random_()
            device = "desktop" if r < desktop else "mobile" if r < desktop + mobile else "tablet"

        stage = start_stages[bisect.bisect_right(start_cum, random_() * start_cum[-1])]
        phase = "browse"
        ts = start
        prev = END
        return_channel = own_channel
        rows: list[list] = []
        while True:
            if stage in DIGITAL:
                channel, dev = own_channel, device
            elif stage == CHAT:
                channel, dev = "chat", device
            elif stage == EMAIL:
                channel, dev = "email", ""
            elif stage == PHONE:
                channel, dev = "phone", ""
            elif stage == STORE:
                channel, dev = "store", ""
            elif stage in (PURCHASE, NEWS):
                if prev == STORE:
                    channel, dev = "store", ""
                elif prev == PHONE:
                    channel, dev = "phone", ""
                else:
                    channel, dev = own_channel, device
            elif stage == RETURN:
                r = random_()
                if r < 0.62:
                    channel, dev = own_channel, device
                elif r < 0.82:
                    channel, dev = "store", ""
                else:
                    channel, dev = "email", ""
                return_channel = channel
            elif stage == REFUND:
                channel = return_channel
                dev = device if channel in ("web", "app") else ""
            else:  # Cancel Account
                r = random_()
                if r < 0.6:
                    channel, dev = own_channel, device
                elif r < 0.85:
                    channel, dev = "phone", ""
                else:
                    channel, dev = "email", ""
            value = ""
            if stage == PURCHASE:
                amount = ORDER_MEDIAN[segment] * math.exp(ORDER_SIGMA * gauss(0.0, 1.0))
                if variant == "holiday":
                    amount *= 1.12
                value = f"{max(amount, 3.99):.2f}"
            rows.append([None, ts, stage, channel, dev, segment, None, value])
            if len(rows) >= MAX_EVENTS:
                break

            phase = PHASE_AFTER.get(stage, phase)
            cum, targets = table[(stage, phase)]
            nxt = targets[bisect.bisect_right(cum, random_() * cum[-1])]
            if nxt == END:
                break
            log_median, sigma, brk = waits.get((stage, nxt)) or default_wait
            if nxt != stage and random_() < SAME_SECOND:
                wait = 0
            else:
                if brk and random_() < brk:
                    log_median, sigma = log_break, sigma_break
                wait = int(math.exp(log_median + sigma * gauss(0.0, 1.0)))
                wait = 1 if wait < 1 else MAX_WAIT if wait > MAX_WAIT else wait
            ts += wait
            if ts >= YEAR_END:
                break
            prev, stage = stage, nxt
        return rows

    def rows(self) -> Iterable[list[list]]:
        """Yield chunks of rows, sorted by timestamp across chunks.

        A row is [customer_id, timestamp (int seconds), stage, channel, device, segment,
        converted, order_value, journey_id].
        """
        rng = self.rng
        by_time = itemgetter(1)
        pending: list[list] = []
        u = 0.0
        mean_events = 4.5  # prior for the events per journey, refined as we go
        since_flush = 0
        while True:
            if self.journeys is not None:
                if self.journeys_made >= self.journeys:
                    break
                remaining = float(self.journeys - self.journeys_made)
            else:
                if self.events_made >= (self.events or 0):
                    break
                if self.journeys_made >= 1000:
                    mean_events = self.events_made / self.journeys_made
                total = (self.events or 0) / mean_events
                # A little slack keeps the last journeys from crowding into the year's end.
                slack = max(1.0, min(20.0, total / 1000))
                remaining = max(1.0, ((self.events or 0) - self.events_made) / mean_events) + slack
            # The next of `remaining` uniform draws in [u, 1), in order.
            u = 1.0 - (1.0 - u) * rng.random() ** (1.0 / remaining)
            start = self._start_time(min(u, 1.0 - 1e-12))

            returning = self.returning
            if returning and returning[0][0] <= start:
                _, _, customer, segment = heapq.heappop(returning)
            else:
                customer, segment = self._new_customer()
            journey = self._journey(start, segment)
            converted = "false"
            for row in journey:
                if row[2] == PURCHASE:
                    converted = "true"
                    break
            journey_id = f"J{self.journeys_made + 1:07d}"
            for row in journey:
                row[0] = customer
                row[6] = converted
                row.append(journey_id)
            if rng.random() < REVISIT[segment]:
                low, high = REVISIT_GAP
                eligible = journey[-1][1] + low + int(rng.random() * (high - low))
                if eligible < YEAR_END:
                    heapq.heappush(returning, (eligible, self.journeys_made, customer, segment))
            pending.extend(journey)
            self.journeys_made += 1
            self.events_made += len(journey)
            since_flush += 1
            if since_flush >= FLUSH_EVERY:
                since_flush = 0
                pending.sort(key=by_time)
                # Every later journey starts at `start` or after: older rows are final.
                cut = bisect.bisect_left(pending, start, key=by_time)
                if cut:
                    yield pending[:cut]
                    del pending[:cut]
        pending.sort(key=by_time)
        if pending:
            yield pending


def _running(values: Iterable[float]) -> Iterable[float]:
    total = 0.0
    for value in values:
        total += value
        yield total


def _time_formatter() -> tuple[list[str], list[str]]:
    days = [
        (datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=d)).strftime("%Y-%m-%dT")
        for d in range((YEAR_END - YEAR_START) // DAY + 1)
    ]
    clock = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z" for s in range(DAY)]
    return days, clock


def write(chunks: Iterable[list[list]], out: IO[str], fmt: str) -> int:
    """Write the rows of ``chunks`` as CSV or JSON Lines; return the number of rows."""
    days, clock = _time_formatter()
    count = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for chunk in chunks:
            for row in chunk:
                d, s = divmod(row[1] - YEAR_START, DAY)
                row[1] = days[d] + clock[s]
            writer.writerows(chunk)
            count += len(chunk)
        return count

    # JSON Lines: every value comes from a small vocabulary, so encode each once.
    names = [json.dumps(c) for c in COLUMNS]
    template = "{" + ", ".join(f"{n}: %s" for n in names) + "}\n"
    encoded: dict[str, str] = {"": "null", "true": "true", "false": "false"}
    for word in (*STAGES, *SEGMENTS, "web", "app", "chat", "email", "phone", "store",
                 "desktop", "mobile", "tablet"):
        encoded[word] = json.dumps(word)
    for chunk in chunks:
        lines = []
        for cid, ts, stage, channel, device, segment, converted, value, jid in chunk:
            d, s = divmod(ts - YEAR_START, DAY)
            lines.append(template % (
                f'"{cid}"', f'"{days[d]}{clock[s]}"', encoded[stage], encoded[channel],
                encoded[device], encoded[segment], encoded[converted], value or "null",
                f'"{jid}"',
            ))
        out.write("".join(lines))
        count += len(chunk)
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Simulate an online retailer's customer-journey log (CSV or JSON Lines).",
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--journeys", type=int, metavar="N",
                      help="number of journeys (default 3000)")
    size.add_argument("--events", type=int, metavar="N",
                      help="generate journeys until at least N events, ending on a whole journey")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--format", choices=("csv", "jsonl"),
                        help="output format (default: from the -o suffix, else csv)")
    parser.add_argument("-o", "--output", default="-", metavar="PATH",
                        help="output file, '-' for stdout (default); a .gz suffix gzips")
    args = parser.parse_args(argv)

    for name in ("journeys", "events"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name} must be at least 1")
    journeys = args.journeys
    if journeys is None and args.events is None:
        journeys = 3000
    fmt = args.format
    if fmt is None:
        stem = args.output.removesuffix(".gz")
        fmt = "jsonl" if stem.endswith((".jsonl", ".ndjson", ".json")) else "csv"

    simulator = Simulator(args.seed, journeys, args.events)
    try:
        with contextlib.ExitStack() as stack:
            if args.output == "-":
                out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")
                stack.callback(out.detach)
            else:
                raw: IO[bytes] = stack.enter_context(open(args.output, "wb"))
                if args.output.endswith(".gz"):
                    # No name and no time in the header: the bytes depend on the arguments.
                    raw = stack.enter_context(gzip.GzipFile(
                        filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0,
                    ))
                out = stack.enter_context(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
            count = write(simulator.rows(), out, fmt)
            out.flush()
    except BrokenPipeError:  # e.g. piped into `head`
        sys.stderr.close()
        return 0
    if args.output != "-":
        print(f"{args.output}: {count} events, {simulator.journeys_made} journeys, "
              f"{simulator.customers} customers", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
