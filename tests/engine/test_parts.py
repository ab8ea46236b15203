"""Parts of areas (issue 19, item 7): an application asks for some parts of an area, a
decision grants some parts, completing releases exactly those, and a later application
claims the rest; the letters print the parts in Danish; a BUM agreement may be for a
released part. On both databases."""

from __future__ import annotations

import io

import docx
import pytest
from sqlalchemy import select

from tests.conftest import Clock
from tests.factories import make_application, walk_fire
from workflow.engine.queries import areas, documents, get_application
from workflow.engine.workflow import Workflow
from workflow.errors import GuardFailed, InvalidData, in_danish
from workflow.store import tables as t

DECISION = {"reference": "2018-77", "decision_date": "2018-06-01"}


def propose(wf: Workflow, app: int, value: str) -> None:
    wf.fire(app, "propose_areas", user="pl-ishoj", data={"areas": value})


def area_view(wf: Workflow, area_id: str) -> dict[str, object]:
    return next(a for a in areas(wf) if a["id"] == area_id)


def test_the_demo_declares_the_parts(wf: Workflow) -> None:
    social = area_view(wf, "social")
    assert [p["id"] for p in social["parts"]] == [  # type: ignore[attr-defined]
        "social:s82", "social:s86", "social:s112_114", "social:s116"]
    assert [p["name"] for p in area_view(wf, "special_education")["parts"]] == [  # type: ignore[attr-defined]
        "Pædagogisk psykologisk rådgivning (PPR)"]
    assert [p["name"] for p in area_view(wf, "nature_environment")["parts"]] == [  # type: ignore[attr-defined]
        "Spildevand"]
    assert area_view(wf, "employment")["parts"] == []


def test_two_applications_share_an_area_by_parts_but_never_a_part(wf: Workflow) -> None:
    first = make_application(wf, title="Første")
    propose(wf, first, "social:s82,social:s86,rehabilitation")
    second = make_application(wf, title="Anden")
    propose(wf, second, "social:s112_114,social:s116,special_education")
    number = get_application(wf, first, user="pl-ishoj")["case_number"]
    third = make_application(wf, title="Tredje")
    with pytest.raises(GuardFailed, match=rf"social:s86 \(in case {number}\)"):
        propose(wf, third, "social:s86,employment")
    with pytest.raises(GuardFailed, match=r"not available: social \(in case") as whole:
        propose(wf, third, "social,employment")
    assert "Det sociale område" in in_danish(whole.value.args[0])
    view = area_view(wf, "social")
    assert view["available"] is False and str(view["status"]).startswith("in part: s82")
    shown = get_application(wf, first, user="pl-ishoj")
    assert shown["areas"] == ["rehabilitation", "social:s82", "social:s86"]
    assert [a["name"] for a in shown["area_details"]][1] == \
        "Det sociale område: serviceloven § 82"
    # withdrawn, its parts are free again: the whole area is not, while the second holds two
    wf.fire(first, "withdraw", user="pl-ishoj", data={"reason": "Test"})
    propose(wf, third, "social:s82,employment")


def test_an_unknown_part_names_the_areas_parts(wf: Workflow) -> None:
    app = make_application(wf)
    with pytest.raises(InvalidData, match="unknown part 'social:s99'; the parts of social "
                       "are: social:s82, social:s86, social:s112_114, social:s116") as exc:
        propose(wf, app, "social:s99,employment")
    assert "ukendt del »social:s99«; delene af »social« er: social:s82" in \
        in_danish(exc.value.args[0])
    with pytest.raises(InvalidData, match="the area 'employment' has no parts"):
        propose(wf, app, "employment:x,social")
    with pytest.raises(InvalidData, match="named twice"):
        propose(wf, app, "social,social:s82,employment")


def test_round_one_counts_an_area_asked_in_part_as_one(wf: Workflow) -> None:
    app = make_application(wf)
    with pytest.raises(GuardFailed, match="round 1 must have 2–3 areas, got 1"):
        propose(wf, app, "social:s82,social:s86")
    propose(wf, app, "social:s82,social:s86,employment")


def test_a_grant_of_some_parts_releases_exactly_those(wf: Workflow, clock: Clock) -> None:
    app = make_application(wf, state="submitted", areas=["social", "rehabilitation"])
    for wrong in ("social:s82,employment", "social,rehabilitation"):
        with pytest.raises((GuardFailed, InvalidData)):
            walk_fire(wf, app, "record_decision", user="pl-ishoj", data={
                **DECISION, "outcome": "partly_granted", "granted_areas": wrong})
    walk_fire(wf, app, "record_decision", user="pl-ishoj", data={
        **DECISION, "outcome": "partly_granted", "granted_areas": "social:s82,social:s86"})
    shown = get_application(wf, app, user="pl-ishoj")
    assert shown["data"]["granted_areas"] == ["social:s82", "social:s86"]
    assert shown["data"]["refused_areas"] == ["rehabilitation", "social:s112_114",
                                              "social:s116"]
    walk_fire(wf, app, "start_transition", user="pl-ishoj",
              data={"effective_date": "2019-01-01"})
    walk_fire(wf, app, "complete", user="pl-ishoj")
    with wf.engine.connect() as conn:
        released = conn.execute(select(t.area_part_release.c.area_id,
                                       t.area_part_release.c.part_id)
                                .order_by(t.area_part_release.c.part_id)).all()
        assert conn.execute(select(t.area.c.released_on)
                            .where(t.area.c.id == "social")).scalar() is None
    assert released == [("social", "s82"), ("social", "s86")]
    parts = {p["id"]: p["available"] for p in area_view(wf, "social")["parts"]}  # type: ignore[attr-defined]
    assert parts == {"social:s82": False, "social:s86": False, "social:s112_114": True,
                     "social:s116": True}
    later = make_application(wf, title="Resten")
    with pytest.raises(GuardFailed, match=r"social:s82 \(released on"):
        propose(wf, later, "social:s82,employment")
    with pytest.raises(GuardFailed, match="not available: social"):
        propose(wf, later, "social,employment")
    propose(wf, later, "social:s112_114,social:s116,employment")
    # a BUM agreement for a released part; the part not granted cannot be bought so
    clock.at("2026-06-01T08:00")
    bum = wf.create(kind="bum_agreement", title="Delaftale om § 82", user="pl-vallensbaek",
                    source=app, data={"provider": "ishoj", "purchaser": "vallensbaek",
                                      "area": "social:s82", "service": "Rådgivning"})
    assert get_application(wf, bum, user="pl-ishoj")["data"]["area"] == "social:s82"
    with pytest.raises(GuardFailed, match="was not granted the area 'social:s116'"):
        wf.create(kind="bum_agreement", title="Delaftale om § 116", user="pl-vallensbaek",
                  source=app, data={"provider": "ishoj", "purchaser": "vallensbaek",
                                    "area": "social:s116", "service": "Boligindretning"})
    with pytest.raises(InvalidData, match="unknown part 'social:s1'"):
        wf.create(kind="bum_agreement", title="Forkert", user="pl-vallensbaek", source=app,
                  data={"provider": "ishoj", "purchaser": "vallensbaek", "area": "social:s1",
                        "service": "x"})


def test_the_letter_prints_the_parts_in_danish(wf: Workflow) -> None:
    app = make_application(wf, state="drafting",
                           areas=["social:s82", "social:s86", "rehabilitation"])
    listed = {d["name"]: d for d in documents(wf, app, user="admin")}
    got = wf.download(int(listed["application_letter"]["id"]), user="pl-ishoj")
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(got.content)).paragraphs)
    assert "Det sociale område: serviceloven § 82 og § 86" in text
    assert "genoptræning og det sociale område: serviceloven § 82 og § 86" in text


def test_the_decision_memo_names_the_parts_granted_and_refused(wf: Workflow) -> None:
    """An area asked whole and granted in part: the memo says which parts were granted and
    which refused, in its summary, its table, its transition plan and its refusals."""
    app = make_application(wf, state="submitted", areas=["social", "rehabilitation"])
    walk_fire(wf, app, "record_decision", user="pl-ishoj", data={
        **DECISION, "outcome": "partly_granted", "granted_areas": "social:s82,social:s86"})
    listed = {d["name"]: d for d in documents(wf, app, user="admin")}
    got = wf.download(int(listed["decision_memo"]["id"]), user="pl-ishoj")
    memo = docx.Document(io.BytesIO(got.content))
    text = "\n".join(p.text for p in memo.paragraphs)
    assert ("Ministeriet har bevilget dispensation for det sociale område (serviceloven § 82 og "
            "§ 86). Ministeriet har givet afslag for genoptræning og det sociale område "
            "(serviceloven §§ 112–114 og § 116).") in text
    rows = [[c.text for c in r.cells] for tb in memo.tables for r in tb.rows]
    assert [(r[0], r[2], r[4]) for r in rows[1:]] == [
        ("Genoptræning", "Afslag", "Forbliver i samarbejdet"),
        ("Det sociale område: serviceloven §§ 112–114 og § 116", "Afslag",
         "Forbliver i samarbejdet"),
        ("Det sociale område: serviceloven § 82 og § 86", "Bevilget",
         "Dato aftales med ministeriet")]
    # the transition plan is for the parts granted; the parts refused stay
    plan = text.split("Overgangsplan for de bevilgede områder")[1].split("Områder med afslag")
    assert "Det sociale område: serviceloven § 82 og § 86" in plan[0]
    assert "§ 116" not in plan[0] and "Genoptræning" not in plan[0]
    assert ("Det sociale område: serviceloven §§ 112–114 og § 116 (§ 1, stk. 2, nr. 5), som "
            "fortsat varetages af Ishøj Kommune") in plan[1]

