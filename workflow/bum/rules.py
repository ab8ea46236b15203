"""BUM agreements: cost-price arithmetic to the øre, and the rules of the yearly cycle.

Under a BUM agreement (bestiller–udfører–modtager) one municipality buys a service from
another at cost price: direct costs plus an overhead rate. The purchaser pays the year's
price a conto, in quarterly instalments; after the accounts, the provider states the
actual cost and the difference is settled (efterregulering). All amounts are ``Decimal``
and rounded half up to whole øre once, where an accountant would round them.

The guards and effects here are the ``bum_agreement`` process's named rules in
``states.yaml``; they are registered in :mod:`workflow.rules.registry` like the others. The year
data live in the agreement's data under ``years``: ``{"2027": {"price": "…", …}}``, as
exact strings; :func:`year_views` reads them back as ``Decimal`` and ``date`` for the
documents, the pages, the API and the command line.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from ..calendar.workdays import add_months
from ..danish import long_date
from ..errors import GuardFailed, Said
from ..rules.registry import Context, effect, guard
from .pricing import cost_price, instalments, months_in_force, payment_dates, to_øre, true_up
from .views import as_date


# ------------------------------------------------------------------ the year records
def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


def _years(ctx: Context) -> dict[str, dict[str, Any]]:
    years: dict[str, dict[str, Any]] = ctx.app_data.setdefault("years", {})
    return years


def _cycle(ctx: Context) -> int:
    year = ctx.app_data.get("cycle_year")
    if not isinstance(year, int):
        raise GuardFailed(Said("the agreement has no yearly cycle yet (it is not signed)",
                               "aftalen er ikke i en årscyklus endnu (den er ikke underskrevet)"))
    return year


def price_year(ctx: Context, year: int, *, start: date | None = None) -> dict[str, Any]:
    """Price ``year`` from this step's data (or the agreement's) and plan its a-conto.

    The direct costs are a whole year's; a first year that starts during the year pays
    its months' share of them (rounded to the øre before the overhead is added).
    """
    data = {**ctx.app_data, **ctx.data}
    months = months_in_force(year, start)
    annual = _dec(data["direct_costs"])
    direct = annual if months == 12 else to_øre(annual * months / 12)
    price = cost_price(direct, _dec(data["overhead_rate"]))
    entry = _years(ctx).setdefault(str(year), {})
    volume = data.get("expected_volume")
    if "expected_volume" not in entry and volume is not None:
        entry["expected_volume"] = int(volume)
    if "service_level" not in entry and data.get("service_level"):
        entry["service_level"] = str(data["service_level"])
    volume = entry.get("expected_volume")
    quarters = payment_dates(year, start)
    entry.update({
        "months": months, "annual_direct_costs": f"{annual:f}",
        "direct_costs": f"{price.direct:f}", "overhead_rate": f"{price.rate:f}",
        "overhead": f"{price.overhead:f}", "price": f"{price.total:f}",
        "unit_price": f"{to_øre(price.total / volume):f}" if volume else None,
        "a_conto": [{"due": q.isoformat(), "amount": f"{a:f}"}
                    for q, a in zip(quarters, instalments(price.total, len(quarters)),
                                    strict=True)]})
    return entry


def settle_year(ctx: Context, year: int, *, until: date | None = None) -> dict[str, Any]:
    """The true-up of ``year``: actual cost (this step's actual_costs plus the year's
    overhead rate) against the a-conto payments due by ``until`` (the whole year)."""
    entry = _years(ctx).get(str(year))
    if not entry or "price" not in entry:
        raise GuardFailed(Said(f"no price was agreed for {year}, so there is nothing to true up",
                               f"der er ikke aftalt en pris for {year}, så der er intet at "
                               f"efterregulere"))
    if "true_up" in entry:
        raise GuardFailed(Said(f"{year} has already been trued up",
                               f"{year} er allerede efterreguleret"))
    paid = sum((_dec(a["amount"]) for a in entry["a_conto"]
                if until is None or date.fromisoformat(a["due"]) <= until), Decimal(0))
    result = true_up(_dec(ctx.data["actual_costs"]), _dec(entry["overhead_rate"]), paid)
    entry["true_up"] = {
        "actual_direct": f"{result.actual.direct:f}",
        "actual_overhead": f"{result.actual.overhead:f}",
        "actual_total": f"{result.actual.total:f}", "paid": f"{result.paid:f}",
        "balance": f"{result.balance:f}", "until": until.isoformat() if until else None}
    ctx.app_data["last_true_up"] = year
    return entry


# ----------------------------------------------------------------------------- guards
@guard("acting_as", arg="the municipality field of the party who takes this step")
def acting_as(ctx: Context) -> Said | None:
    """Only the named party (provider or purchaser) takes this step."""
    wanted = ctx.app_data.get(str(ctx.arg))
    if ctx.party is not None and ctx.party != wanted:
        return Said(f"only the {ctx.arg} ({wanted}) takes this step, not {ctx.party}",
                    f"dette skridt tages af {ctx.names.party(wanted)} "
                    f"({ctx.names.field(str(ctx.arg)).lower()}), ikke af "
                    f"{ctx.names.party(ctx.party)}")
    return None


@guard("on_time")
def on_time(ctx: Context) -> Said | None:
    """The step is taken by its deadline, or the steering group has recorded an exception."""
    due = ctx.deadline_due()
    if due is None or ctx.today() <= due[0] or ctx.acts("exception"):
        return None
    return Said(f"the deadline, {long_date(due[0])}, has passed ({due[1]}); a late step "
                f"needs an exception recorded by the steering group first (grant_exception)",
                f"fristen den {long_date(due[0])} er overskredet ({due[1]}); et skridt efter "
                f"fristen kræver, at styregruppen først har givet dispensation "
                f"({ctx.names.action('grant_exception')})")


@guard("cycle_entry", arg="the state the yearly cycle starts in: true_up or volume")
def cycle_entry(ctx: Context) -> Said | None:
    """Where a newly signed agreement joins the yearly cycle (see :func:`first_cycle`)."""
    start = as_date(ctx.app_data.get("start_date"))
    if start is None:
        return None
    year, state = first_cycle(start, ctx.today())
    if state != ctx.arg:
        return Said(f"the agreement joins the yearly cycle {year} at {state}",
                    f"aftalen går ind i årscyklussen {year} ved {ctx.names.state(state)}")
    return None


def first_cycle(start: date, signed: date) -> tuple[int, str]:
    """The first cycle year and state of an agreement in force from ``start``.

    The cycle year is the first whose volume deadline (1 May) is still ahead at signing,
    and not before the start year; it opens with the true-up when a year of the agreement
    lies before it, else with the volume for the next year.
    """
    year = max(start.year, signed.year)
    if signed >= date(year, 5, 1):
        year += 1
    return year, ("true_up" if start.year < year else "volume")


@guard("notice_months", arg="a number of months, or the field that holds it")
def notice_months(ctx: Context) -> Said | None:
    """The date this step names (end_date or effective_date) is far enough ahead."""
    months = ctx.arg if isinstance(ctx.arg, int) else int(ctx.app_data.get(str(ctx.arg)) or 0)
    field = "end_date" if "end_date" in ctx.data else "effective_date"
    when = ctx.data.get(field)
    if not isinstance(when, date):
        return None
    earliest = add_months(ctx.today(), months)
    if when < earliest:
        return Said(f"{field} {long_date(when)} is less than {months} months away; "
                    f"the earliest is {long_date(earliest)}",
                    f"{ctx.names.fields([field])} den {long_date(when)} ligger mindre end "
                    f"{months} måneder ude; tidligst den {long_date(earliest)}")
    return None


@guard("after_end_date")
def after_end_date(ctx: Context) -> Said | None:
    """The agreement has ended (its end date has passed)."""
    end = as_date(ctx.app_data.get("end_date"))
    if end is not None and ctx.today() <= end:
        return Said(f"the agreement runs until {long_date(end)}; settle it after that",
                    f"aftalen løber til {long_date(end)}; den afregnes derefter")
    return None


@guard("terms_proposed")
def terms_proposed(ctx: Context) -> Said | None:
    """The terms (price, volume, start) have been proposed before anyone signs them."""
    if as_date(ctx.app_data.get("start_date")) is None:
        return Said("no terms have been proposed yet (propose_terms); there is nothing to sign",
                    f"der er endnu ikke foreslået vilkår "
                    f"({ctx.names.action('propose_terms')}), så der er intet at underskrive")
    return None


@guard("parties_differ")
def parties_differ(ctx: Context) -> Said | None:
    """The purchaser and the provider are two municipalities."""
    if ctx.app_data.get("provider") == ctx.app_data.get("purchaser"):
        return Said("the purchaser and the provider must be two different municipalities",
                    "bestiller og udfører skal være to forskellige kommuner")
    return None


# ---------------------------------------------------------------------------- effects
@effect("price_terms")
def price_terms(ctx: Context) -> None:
    """Price the agreement's first year from its proposed terms."""
    start = ctx.data["start_date"]
    years = _years(ctx)
    years.clear()  # a new proposal replaces the last one
    years[str(start.year)] = {"expected_volume": int(ctx.data["expected_volume"]),
                              "service_level": str(ctx.data["service_level"])}
    price_year(ctx, start.year, start=start)


@effect("start_cycle")
def start_cycle(ctx: Context) -> None:
    """The signed agreement joins the yearly cycle. A year the cycle will not price (the
    agreement was signed after that year's volume date) is priced on the agreed terms."""
    start = as_date(ctx.app_data.get("start_date"))
    assert start is not None
    cycle = first_cycle(start, ctx.today())[0]
    ctx.app_data["cycle_year"] = cycle
    ctx.app_data["signed_on"] = ctx.today().isoformat()
    for year in range(start.year + 1, cycle + 1):
        if "price" not in _years(ctx).get(str(year), {}):
            price_year(ctx, year)


@effect("record_true_up")
def record_true_up(ctx: Context) -> None:
    """The actual cost of last year against its a-conto payments."""
    settle_year(ctx, _cycle(ctx) - 1)


@effect("plan_next_year")
def plan_next_year(ctx: Context) -> None:
    """The purchaser's expected volume and service level for the next year."""
    entry = _years(ctx).setdefault(str(_cycle(ctx) + 1), {})
    entry.update({"expected_volume": int(ctx.data["expected_volume"]),
                  "service_level": str(ctx.data["service_level"])})


@effect("price_next_year")
def price_next_year(ctx: Context) -> None:
    """The provider's price calculation for the next year."""
    price_year(ctx, _cycle(ctx) + 1)


@effect("record_budget_frame")
def record_budget_frame(ctx: Context) -> None:
    """The purchaser's formal notice of the next year's budget frame."""
    entry = _years(ctx).setdefault(str(_cycle(ctx) + 1), {})
    entry["budget_frame"] = f"{ctx.data['budget_frame']:f}"
    entry["notice_on"] = ctx.today().isoformat()


@effect("next_cycle")
def next_cycle(ctx: Context) -> None:
    """The year's agreement is signed: the next cycle begins."""
    entry = _years(ctx).setdefault(str(_cycle(ctx) + 1), {})
    entry["signed_on"] = ctx.today().isoformat()
    ctx.app_data["cycle_year"] = _cycle(ctx) + 1


@effect("record_change")
def record_change(ctx: Context) -> None:
    """A mid-year change of volume or service level, kept with its notice."""
    ctx.app_data.setdefault("changes", []).append({
        "effective_date": ctx.data["effective_date"].isoformat(),
        "expected_volume": int(ctx.data["expected_volume"]),
        "service_level": str(ctx.data["service_level"]),
        "noticed_on": ctx.today().isoformat(), "by": ctx.party})


def unsettled_years(ctx: Context) -> list[int]:
    """The priced years up to the end date that have not been trued up, oldest first."""
    end = as_date(ctx.app_data.get("end_date"))
    return sorted(int(y) for y, e in _years(ctx).items()
                  if "price" in e and "true_up" not in e and (end is None or int(y) <= end.year))


@guard("settles", arg="last (the final year) or more (an earlier year first)")
def settles(ctx: Context) -> Said | None:
    """Which settlement this is: of the last open year, or of an earlier one."""
    left = unsettled_years(ctx)
    if not left:
        return Said("every year of the agreement has been trued up",
                    "alle aftalens år er efterreguleret")
    if (len(left) == 1) != (ctx.arg == "last"):
        years = ", ".join(map(str, left))
        return Said(f"years to true up: {years}", f"år, der skal efterreguleres: {years}")
    return None


@effect("settle_year")
def settle_next_year(ctx: Context) -> None:
    """The true-up of the oldest open year; the last one counts the instalments due by the
    end date only."""
    end = as_date(ctx.app_data.get("end_date"))
    assert end is not None
    year = unsettled_years(ctx)[0]
    settle_year(ctx, year, until=end if year == end.year else None)
