"""Information notices: which systems need one (from their qualification and the `patients`
referential), the plain-French draft generated from the register, versions and their diff,
the DPO's approval, publication, the PDF (normal and large print), and the evidence they give
to the obligations of the compliance checklist (`garant.compliance.linked`)."""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from garant.compliance.qualifications import current
from garant.core.documents import PdfDocument, display
from garant.core.referentials import localized, vocabulary
from garant.core.versions import diff
from garant.patients import referential
from garant.patients.models import InformationChannel, NoticeVersion, PatientNotice


class NoticeError(ValueError):
    """A step the notice's state does not allow (French message for the person)."""


# --- which systems need a notice -----------------------------------------------------------


def required_obligations(system) -> list[str]:
    """Codes of the obligations of `system`'s current qualification that call for a patient
    notice (referential `patients`, notice/obligations); empty when it needs none or has no
    qualification yet."""
    qualification = current(system)
    if qualification is None:
        return []
    wanted = referential.notice_obligations()
    codes = [o["code"] for o in qualification.result.get("obligations", [])]
    return [code for code in wanted if code in codes]


def reasons(codes) -> list[dict]:
    obligations = referential.notice_obligations()
    return [
        {"code": c, "text": localized(obligations[c]), "status": obligations[c]["status"]}
        for c in codes
        if c in obligations
    ]


# --- the generated draft -------------------------------------------------------------------


def _labels(vocab: str, codes, lower: bool = False) -> str:
    labels = vocabulary(vocab)
    return ", ".join(labels.label_of(c).lower() if lower else labels.label_of(c) for c in codes)


def _oversight_plan(system):
    return system.oversight_plan_versions.order_by("-number").first()


def generate(system, codes: list[str] | None = None) -> dict:
    """The sections of a notice for `system`, in plain French, from the register, its
    qualification and its oversight plan."""
    codes = required_obligations(system) if codes is None else codes
    who = (
        _("fourni par %(v)s") % {"v": system.vendor.name}
        if system.vendor_id
        else _("développé par l'établissement")
    )
    what = _("« %(name)s » est un outil d'intelligence artificielle %(who)s. %(purpose)s") % {
        "name": system.name,
        "who": who,
        "purpose": (system.use_case or system.intended_purpose).strip(),
    }
    services = ", ".join(s.name for s in system.services.all())
    care_step = (
        _("Il est utilisé dans les services suivants : %(s)s.") % {"s": services}
        if services
        else _("Il est utilisé au cours de votre prise en charge.")
    )
    if system.workflow_integration.strip():
        care_step += " " + _("Son résultat apparaît ici : %(w)s.") % {
            "w": system.workflow_integration.strip().rstrip(".")
        }
    responsible = _(
        "L'outil aide les professionnels ; il ne décide pas à leur place. Le professionnel de "
        "santé qui vous prend en charge reste responsable de votre diagnostic et de vos soins."
    )
    plan = _oversight_plan(system)
    if plan is not None and plan.points:
        checks = "; ".join(
            f"{p.get('who', '')} : {p.get('checks', '')}".strip(" :") for p in plan.points
        )
        human = _("Un professionnel vérifie le résultat de l'outil (%(c)s).") % {"c": checks}
        human += " " + _(
            "Il peut l'écarter ou le corriger, et l'usage de l'outil peut être arrêté."
        )
    else:
        human = _(
            "Un professionnel examine toujours le résultat de l'outil ; il peut l'écarter ou le "
            "corriger."
        )
    data_used = (
        _("L'outil utilise des données de votre dossier : %(c)s.")
        % {"c": _labels("data_category", system.data_categories, lower=True)}
        if system.data_categories
        else _("L'outil utilise des données nécessaires à votre prise en charge.")
    )
    if system.data_sources:
        data_used += " " + _("Elles proviennent de : %(s)s.") % {
            "s": _labels("data_source", system.data_sources)
        }
    rights = [
        _(
            "Vous pouvez demander à accéder aux données vous concernant, vous opposer à leur "
            "utilisation ou demander leur effacement, dans les limites prévues par la loi "
            "(RGPD, articles 15, 17 et 21)."
        )
    ]
    if "csp_l4001_3_patient" in codes:
        rights.append(
            _(
                "Vous pouvez demander au professionnel de santé de vous expliquer "
                "l'interprétation qui résulte de l'outil (code de la santé publique, L4001-3)."
            )
        )
    qualification = current(system)
    all_codes = {o["code"] for o in (qualification.result["obligations"] if qualification else [])}
    if "aia_86_explanation" in all_codes:
        rights.append(
            _(
                "Si une décision vous concernant a été prise à l'aide de cet outil, vous pouvez "
                "obtenir une explication claire de son rôle (règlement européen sur l'IA, "
                "article 86)."
            )
        )
    rights.append(_("Vous pouvez aussi adresser une réclamation à la CNIL (www.cnil.fr)."))
    register = getattr(system.establishment, "public_register", None)
    contact = (register.contact if register and register.contact else "") or _(
        "Le délégué à la protection des données de %(e)s."
    ) % {"e": system.establishment.name}
    return {
        "what": what,
        "care_step": care_step,
        "responsible": responsible,
        "human_guarantee": human,
        "data_used": data_used,
        "rights": " ".join(rights),
        "contact": contact,
    }


# --- versions ------------------------------------------------------------------------------


def notice_of(system) -> PatientNotice | None:
    return PatientNotice.objects.within(ai_system=system).first()


@transaction.atomic
def save_version(system, content: dict, user, *, generated=False, note="") -> NoticeVersion:
    """A new version of `system`'s notice (created on the first one); back to draft."""
    notice = notice_of(system) or PatientNotice.objects.create(ai_system=system)
    last = notice.versions.first()
    codes = required_obligations(system)
    version = NoticeVersion.objects.create(
        notice=notice,
        number=(last.number + 1) if last else 1,
        obligations=codes,
        referential_version=referential.rules().version,
        generated=generated,
        change_note=note,
        created_by=user if getattr(user, "is_authenticated", False) else None,
        **{k: content[k] for k in (*NoticeVersion.SECTIONS, "contact")},
    )
    if notice.state != PatientNotice.State.DRAFT:
        notice.state = PatientNotice.State.DRAFT
        notice.save(update_fields=["state"])
    return version


def labels() -> dict[str, str]:
    return {
        name: str(NoticeVersion._meta.get_field(name).verbose_name).capitalize()
        for name in (*NoticeVersion.SECTIONS, "contact")
    }


def compare(before: NoticeVersion | None, after: NoticeVersion) -> list[dict]:
    return diff(
        before.content() if before else {},
        after.content(),
        labels(),
        fields=(*NoticeVersion.SECTIONS, "contact"),
    )


# --- review and publication -----------------------------------------------------------------


@transaction.atomic
def submit(notice: PatientNotice) -> None:
    if notice.state != PatientNotice.State.DRAFT or not notice.versions.exists():
        raise NoticeError(_("Seul un brouillon peut être soumis au DPO."))
    notice.state = PatientNotice.State.SUBMITTED
    notice.save()


@transaction.atomic
def approve(notice: PatientNotice, user, note: str = "") -> None:
    if notice.state != PatientNotice.State.SUBMITTED:
        raise NoticeError(_("Seule une notice soumise peut être approuvée."))
    notice.state = PatientNotice.State.APPROVED
    notice.approved_version = notice.versions.first()
    notice.approved_by = user
    notice.approved_at = timezone.now()
    notice.review_note = note
    notice.save()


@transaction.atomic
def send_back(notice: PatientNotice, note: str) -> None:
    if notice.state != PatientNotice.State.SUBMITTED:
        raise NoticeError(_("Seule une notice soumise peut être renvoyée en brouillon."))
    notice.state = PatientNotice.State.DRAFT
    notice.review_note = note
    notice.save()


@transaction.atomic
def set_published(notice: PatientNotice, published: bool) -> None:
    if published and notice.approved_version_id is None:
        raise NoticeError(_("Seule une version approuvée par le DPO peut être publiée."))
    notice.published = published
    notice.published_at = timezone.now() if published else None
    notice.save()


def published_version(notice: PatientNotice | None) -> NoticeVersion | None:
    if notice is None or not notice.published:
        return None
    return notice.approved_version


# --- printing --------------------------------------------------------------------------------


def pdf(system, version: NoticeVersion, large: bool = False) -> bytes:
    """The notice as the patient reads it; `large`: large print (16 pt and more)."""
    doc = PdfDocument(
        _("Information sur l'utilisation d'un outil d'intelligence artificielle"),
        subtitle=f"{system.establishment.name} — {system.name}",
    )
    if large:
        for name, size in (("body", 16), ("h1", 20), ("note", 13)):
            doc.styles[name].fontSize = size
            doc.styles[name].leading = size * 1.35
    for name, label in labels().items():
        doc.heading(label)
        doc.paragraph(getattr(version, name))
    doc.paragraph(
        _("Version %(n)s du %(d)s.") % {"n": version.number, "d": display(version.created_at)},
        note=True,
    )
    return doc.render()


# --- evidence for the compliance checklist ----------------------------------------------------


def linked_evidence(system) -> dict[str, list[dict]]:
    """The approved notice and each information channel, as evidence of the obligations the
    referential says they meet."""
    found: dict[str, list[dict]] = {}
    url = reverse("patients:system", args=[system.pk])
    notice = notice_of(system)
    if notice is not None and notice.approved_version_id:
        version = notice.approved_version
        for code in version.obligations:
            found.setdefault(code, []).append(
                {
                    "title": _("Notice d'information du patient, version %(n)s")
                    % {"n": version.number},
                    "detail": _("Approuvée par le DPO le %(d)s")
                    % {"d": display(notice.approved_at)}
                    + (_(" ; publiée") if notice.published else ""),
                    "url": url,
                }
            )
    wanted = set(required_obligations(system))
    channels = referential.channels()
    for channel in InformationChannel.objects.within(ai_system=system):
        spec = channels.get(channel.kind)
        if spec is None:
            continue
        for code in spec["evidences"]:
            if code in wanted:
                found.setdefault(code, []).append(
                    {
                        "title": localized(spec),
                        "detail": channel.description,
                        "url": url,
                    }
                )
    return found
