"""Roles a user holds in an establishment and the permissions each role grants.

The bottom of the tenancy layer: it imports nothing of Garant, so the models (`Membership`),
the scoping (`garant.core.tenancy`) and the permission checks (`garant.core.permissions`)
all import it downward.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrateur")
    COMMITTEE = "committee", _("Membre du comité")
    REFERENT = "referent", _("Référent IA / chef de projet")
    DPO = "dpo", _("DPO / juridique / qualité")
    CONTRIBUTOR = "contributor", _("Professionnel de terrain")
    AUDITOR = "auditor", _("Auditeur (lecture seule)")


ALL_ROLES = frozenset(Role.values)

# permission -> roles that grant it in an establishment
PERMISSIONS: dict[str, frozenset[str]] = {
    # the register and its objects (systems, versions, vendors)
    "view": ALL_ROLES,
    "add": frozenset({Role.ADMIN, Role.REFERENT, Role.DPO, Role.CONTRIBUTOR}),
    "change": frozenset({Role.ADMIN, Role.REFERENT, Role.DPO, Role.COMMITTEE}),
    "delete": frozenset({Role.ADMIN, Role.REFERENT}),
    "import": frozenset({Role.ADMIN, Role.REFERENT}),
    # the establishment itself: its services, users and roles
    "manage": frozenset({Role.ADMIN}),
    # governance: committees, their meetings, decisions and actions (others read them)
    "govern": frozenset({Role.ADMIN, Role.COMMITTEE}),
    # the lifecycle: anyone submits an idea; the committee and the project leads triage
    # ideas and steer projects (charter, indicators, phases, assessments)
    "submit_idea": ALL_ROLES,
    "triage": frozenset({Role.ADMIN, Role.REFERENT, Role.COMMITTEE}),
    "assess": frozenset({Role.ADMIN, Role.REFERENT, Role.COMMITTEE}),
    # declarations of tools seen in the field: anyone with a working role declares (not the
    # read-only auditor); the AI referents review them into the register
    "declare": ALL_ROLES - {Role.AUDITOR},
    "review_declaration": frozenset({Role.ADMIN, Role.REFERENT}),
    # the collège de garantie humaine: its members with a working role record their findings
    # on the drawn cases (they must also hold a seat in the collège); drawing a campaign,
    # closing it and turning findings into actions is "govern"
    "review_cases": ALL_ROLES - {Role.AUDITOR},
    # ethics referrals (HAS 3.1-06: ethical questioning by all actors): anyone with a working
    # role refers a question on a system to the ethics body; its opinion and the follow-up
    # actions are recorded by the committee ("govern")
    "refer_ethics": ALL_ROLES - {Role.AUDITOR},
    # suspension of an AI system (docs/oversight.md): anyone with a working role proposes it;
    # the establishment's admins, AI referents and committee members suspend at once, or
    # decline the proposal; they also record the resumption (on a signed committee decision)
    "propose_suspension": ALL_ROLES - {Role.AUDITOR},
    "suspend": frozenset({Role.ADMIN, Role.REFERENT, Role.COMMITTEE}),
    # adverse events (docs/incidents.md): anyone with a working role declares one; the
    # quality/risk managers (DPO / juridique / qualité), AI referents and admins qualify it,
    # follow its regulatory reports and close it
    "report_incident": ALL_ROLES - {Role.AUDITOR},
    "qualify_incident": frozenset({Role.ADMIN, Role.REFERENT, Role.DPO}),
    # people (docs/people.md, decision 0023): the staff register is personal data; the list
    # of persons and their trainings is read by those who organise training and habilitation
    # (admins, AI referents) and by the DPO; they, without the DPO, keep the catalogue, the
    # register and the records and grant habilitations. Coverage figures (no names) are "view".
    "view_people": frozenset({Role.ADMIN, Role.REFERENT, Role.DPO}),
    "manage_people": frozenset({Role.ADMIN, Role.REFERENT}),
    # patients (docs/patients.md): information notices are written by whoever may change the
    # register ("change") and approved by the DPO office; the public register is published by
    # the DPO office or an admin; rights requests hold what patients asked: only the DPO office
    # and the admins read and handle them (docs/decisions/0024-patient-rights-requests.md)
    "approve_notice": frozenset({Role.DPO}),
    "publish_register": frozenset({Role.ADMIN, Role.DPO}),
    "handle_rights": frozenset({Role.ADMIN, Role.DPO}),
    # patients' objections and verifiable erasures (docs/patients.md): the DPO office and the
    # establishment's admins; nobody else reads even the pseudonyms
    "patient_erasure": frozenset({Role.ADMIN, Role.DPO}),
    # the audit trail
    "audit": frozenset({Role.ADMIN, Role.DPO, Role.AUDITOR, Role.COMMITTEE}),
    # the governance status of the establishments side by side (home page, board export)
    "oversee": frozenset({Role.ADMIN, Role.COMMITTEE, Role.DPO, Role.AUDITOR}),
}
