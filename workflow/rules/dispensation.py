"""The dispensation's rules: the law's guards and effects for an application (areas per
round, no area in two live applications, every party's step, the ministry's decision, the
satellite application). Importing this module registers them."""

from __future__ import annotations

from datetime import date

from ..danish import join_and
from ..errors import Said, in_danish
from .parts import area_of, areas_counted, clash_of, tokens, units
from .registry import Context, effect, guard


def _fmt(areas: list[str] | set[str]) -> str:
    return ", ".join(sorted(areas)) or "none"


# ----------------------------------------------------------------------------- guards
@guard("areas_fit_application")
def areas_fit_application(ctx: Context) -> Said | None:
    """Each round's number of areas as the process sets it (``area_count``: round 1 2–3
    in the strategy; an area asked in part counts as one); round 2: exactly the areas and
    parts that remain; fixed kinds: their areas."""
    if "areas" not in ctx.data:
        return None  # nothing chosen yet (listing what is possible): judged on submission
    areas = list(ctx.data.get("areas") or [])
    parts = ctx.area_parts()
    fixed = ctx.kind_areas()
    if fixed is not None:
        if units(areas, parts) != units(fixed, parts):
            return Said(f"a {ctx.kind} application covers exactly: {_fmt(fixed)}",
                        f"ansøgningen skal omfatte netop {ctx.names.areas(fixed)}")
        return None
    bounds = ctx.area_count()
    counted = areas_counted(areas)
    if bounds is not None and not bounds[0] <= len(counted) <= bounds[1]:
        low, high = bounds
        want = f"{low}–{high}" if low != high else str(low)
        return Said(f"round {ctx.round} must have {want} areas, got {len(counted)} "
                    f"({_fmt(areas)})",
                    f"runde {ctx.round} skal have {want} områder, ikke {len(counted)} "
                    f"({ctx.names.areas(areas)})")
    if ctx.round == 2:
        if not ctx.has_round_one():
            return Said("round 2 needs a round 1 application first",
                        "runde 2 kræver, at der først er en ansøgning i runde 1")
        taken = ctx.unavailable_areas()
        left = {u for u in units(ctx.area_ids(), parts)
                if u not in taken and area_of(u) not in taken}
        remaining = tokens(left, parts, ctx.area_ids())
        if units(areas, parts) != left:
            return Said(f"round 2 must have exactly the remaining areas: {_fmt(remaining)}",
                        f"runde 2 skal have netop de resterende områder: "
                        f"{ctx.names.areas(remaining)}")
    return None


@guard("areas_available")
def areas_available(ctx: Context) -> Said | None:
    """No area or part may be released already or be in another live application (nor
    an area asked whole while a part of it is)."""
    taken = ctx.unavailable_areas()
    parts = ctx.area_parts()
    why = {a: clash_of(a, taken, parts) for a in ctx.data.get("areas") or []}
    clash = {a: w for a, w in why.items() if w is not None}
    if not clash:
        return None
    return Said(f"not available: {', '.join(f'{a} ({w})' for a, w in clash.items())}",
                join_and(f"{ctx.names.area(a)} {in_danish(w)}" for a, w in clash.items()))


@guard("matches_proposal")
def matches_proposal(ctx: Context) -> Said | None:
    """A confirmation confirms the current proposal (and says so, if it names areas)."""
    proposal = ctx.claimed_areas()
    if not proposal:
        return Said("no areas have been proposed yet", "der er endnu ikke foreslået områder")
    given = ctx.data.get("areas")
    parts = ctx.area_parts()
    if given is not None and units(given, parts) != units(proposal, parts):
        return Said(f"the proposal is {_fmt(proposal)}, not {_fmt(given)}",
                    f"forslaget er {ctx.names.areas(proposal)}, ikke "
                    f"{ctx.names.areas(given)}")
    return None


@guard("all_parties", arg="the name of a recorded step, e.g. council")
def all_parties(ctx: Context) -> Said | None:
    """Every party has recorded the step, approving it where it carries a decision."""
    acts = ctx.acts(ctx.arg)
    missing = [p for p in ctx.parties
               if p not in acts or acts[p].get("decision", "approved") != "approved"]
    if not missing:
        return None
    return Said(f"{ctx.arg}: not yet approved by {', '.join(missing)}",
                f"endnu ikke godkendt af {ctx.names.parties(missing)}")


@guard("committee_stage", arg="the name of the council's own recorded step, e.g. council")
def committee_stage(ctx: Context) -> Said | None:
    """A committee decision is one of the acting municipality's declared committees, and
    comes before that municipality's council has decided."""
    if ctx.party is None:
        return None   # asked without a municipality: judged when one acts
    declared = ctx.committees(ctx.party)
    if not declared:
        return Said(f"no committees are declared for {ctx.party}",
                    f"der er ikke angivet udvalg for {ctx.names.party(ctx.party)}")
    given = ctx.data.get("committee")
    if given is not None and given not in declared:
        return Said(f"{given!r} is not a committee of {ctx.party}; its committees: "
                    + ", ".join(declared),
                    f"»{given}« er ikke et udvalg i {ctx.names.party(ctx.party)}; udvalgene "
                    f"er {join_and(declared)}")
    if ctx.party in ctx.acts(ctx.arg):
        return Said(f"the council of {ctx.party} has already decided ({ctx.arg})",
                    f"kommunalbestyrelsen i {ctx.names.party(ctx.party)} har allerede "
                    f"truffet beslutning, og udvalgene behandler sagen før den")
    return None


@guard("conditions_accepted")
def conditions_accepted(ctx: Context) -> Said | None:
    """Every party has accepted the ministry's conditions: when they were announced, or
    after a decision that set them."""
    acts = ctx.acts_in_case("conditions")
    missing = [p for p in ctx.parties if p not in acts]
    if not missing:
        return None
    return Said(f"the conditions are not yet accepted by {', '.join(missing)}",
                f"vilkårene er endnu ikke accepteret af {ctx.names.parties(missing)}")


@guard("satellite_wanted")
def satellite_wanted(ctx: Context) -> Said | None:
    """The take-back application asks for a jobcentre satellite if it is refused (the
    default, as the strategy has it)."""
    if ctx.app_data.get("satellite_fallback", "yes") == "yes":
        return None
    return Said("the application did not ask for a satellite as fallback",
                "ansøgningen bad ikke om en jobcentersatellit ved afslag")


def _questions(ctx: Context) -> list[str]:
    return [str(q) for q in ctx.app_data.get("questions") or []]


@guard("question_exists")
def question_exists(ctx: Context) -> Said | None:
    """The question answered is one of the ministry's (numbered from 1)."""
    n, count = ctx.data.get("question_no"), len(_questions(ctx))
    if isinstance(n, int) and 1 <= n <= count:
        return None
    return Said(f"question_no: the ministry asked {count} question(s); {n} is not one of them",
                f"ministeriet stillede {count} spørgsmål; nr. {n} er ikke et af dem")


@guard("questions_answered")
def questions_answered(ctx: Context) -> Said | None:
    """Every question of the ministry's request has an answer."""
    answers = ctx.app_data.get("answers") or {}
    missing = [str(i) for i in range(1, len(_questions(ctx)) + 1) if str(i) not in answers]
    if not missing:
        return None
    return Said(f"question(s) {', '.join(missing)} have no answer yet",
                f"spørgsmål {', '.join(missing)} er endnu ikke besvaret")


@effect("new_questions")
def new_questions(ctx: Context) -> None:
    """A new request from the ministry: its questions have no answers yet."""
    ctx.app_data["answers"] = {}


@effect("record_answer")
def record_answer(ctx: Context) -> None:
    """The answer to one question, kept by its number (a new answer replaces the old)."""
    no = ctx.app_data.pop("question_no")
    answer = ctx.app_data.pop("answer")
    ctx.app_data["answers"] = {**(ctx.app_data.get("answers") or {}), str(no): answer}


@guard("decision_areas_valid")
def decision_areas_valid(ctx: Context) -> Said | None:
    """A partial grant names a non-empty, proper subset of the application's areas; a full
    grant all of them; announced conditions any of them."""
    parts = ctx.area_parts()   # compared part by part: a grant may cover parts of an area
    areas = units(ctx.claimed_areas(), parts)
    granted = units(ctx.data.get("granted_areas") or [], parts)
    outcome = ctx.data.get("outcome")
    if outcome == "partly_granted":
        if not granted or not granted < areas:
            return Said(f"a partial grant names some but not all of the areas "
                        f"({_fmt(areas)}) in granted_areas",
                        f"en delvis bevilling omfatter nogle, men ikke alle, af områderne "
                        f"({ctx.names.areas(sorted(areas))})")
    elif outcome is None:  # announced conditions: all the areas, or some of them
        if granted and not granted <= areas:
            return Said(f"the areas granted must be among the application's ({_fmt(areas)})",
                        f"de bevilgede områder skal være blandt ansøgningens "
                        f"({ctx.names.areas(sorted(areas))})")
    elif granted and outcome == "refused":
        return Said("a refusal grants no areas", "et afslag bevilger ingen områder")
    elif granted and granted != areas:
        return Said(f"a full grant covers all the areas ({_fmt(areas)})",
                    f"en bevilling omfatter alle områderne ({ctx.names.areas(sorted(areas))})")
    return None


@guard("only_party_so_far")
def only_party_so_far(ctx: Context) -> Said | None:
    """No other municipality has taken a step in the case yet (then one may act alone)."""
    others = ctx.others_who_acted()
    if not others:
        return None
    return Said(f"{', '.join(others)} has taken part in the case; it is withdrawn by both "
                f"project leads or by the steering group",
                f"{ctx.names.parties(others)} har deltaget i sagen, så den trækkes tilbage af "
                f"begge projektledere eller af styregruppen")


# ---------------------------------------------------------------------------- effects
@effect("claim_areas")
def claim_areas(ctx: Context) -> None:
    """The proposed areas are held by this application (and by no other live one)."""
    ctx.claim_areas(list(ctx.data.get("areas") or []))


@effect("record_ministry_decision")
def record_ministry_decision(ctx: Context) -> None:
    """Outcome per area: granted areas stay claimed, refused ones become available."""
    areas = ctx.claimed_areas()
    outcome = ctx.data["outcome"]
    if outcome == "refused":
        granted: list[str] = []
    elif outcome == "partly_granted":
        granted = list(ctx.data["granted_areas"])
    else:
        granted = list(areas)
    parts, order = ctx.area_parts(), ctx.area_ids()
    won = units(granted, parts)
    granted = tokens(won, parts, order)
    refused = tokens(units(areas, parts) - won, parts, order)
    ctx.app_data["granted_areas"] = sorted(granted)
    ctx.app_data["refused_areas"] = sorted(refused)
    ctx.set_area_outcomes(granted, refused)


@effect("release_claims")
def release_claims(ctx: Context) -> None:
    """The application's areas become available to other applications again."""
    ctx.release_claims()


@effect("release_granted_areas")
def release_granted_areas(ctx: Context) -> None:
    """The granted areas leave the mandatory cooperation on the effective date."""
    raw = ctx.app_data.get("effective_date")
    on = date.fromisoformat(raw) if isinstance(raw, str) else ctx.today()
    ctx.release_granted_areas(on)


@effect("spawn", arg="the kind of application to open, linked to this one")
def spawn(ctx: Context) -> None:
    """Open a linked application of the named kind, in the same transaction."""
    new_id = ctx.spawn(str(ctx.arg))
    ctx.app_data.setdefault("spawned", []).append(new_id)
