"""Forms of compliance: one step of the qualification wizard (built from the referential),
an obligation's follow-up, evidence and comments."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from garant.compliance.models import Evidence, Obligation, ObligationComment, ObligationStatus
from garant.compliance.rules import Rulebook
from garant.core.dates import DATE_WIDGET
from garant.core.models import User
from garant.core.referentials import localized

EVIDENCE_MAX_BYTES = 20 * 1024 * 1024


class StepForm(forms.Form):
    """The questions of one wizard step that apply to the answers given so far.

    `starting` holds the answers the wizard starts from (register, establishment, previous
    qualification); `origins` says where each comes from, shown under the question until the
    user answers it. Each field is described by its help and, once wrong, by its error
    (`aria-describedby`), whose ids the template gives: `<question>-help`, `<question>-error`.
    """

    def __init__(
        self, book: Rulebook, step: dict, answers: dict, starting: dict, origins: dict, *a, **kw
    ):
        super().__init__(*a, **kw)
        self.book = book
        self.step = step
        self.origins = {}
        for question in step["questions"]:
            if not book.visible(step, question, answers):
                continue
            qid = question["id"]
            initial = answers.get(qid, starting.get(qid))
            if qid not in answers and qid in origins:
                self.origins[qid] = origins[qid]
            self.fields[qid] = self._field(question, initial)
            self.fields[qid].widget.attrs["aria-describedby"] = f"{qid}-help"

    def _field(self, question: dict, initial):
        cite = self.book.cite(question["cite"])
        help_text = " ".join(
            part for part in (localized(question.get("help", {})), f"[{cite['text']}]") if part
        )
        common = {
            "label": localized(question["text"]),
            "help_text": help_text,
            "initial": initial,
            "error_messages": {"required": _("Répondez à cette question.")},
        }
        if question["type"] == "bool":
            return forms.TypedChoiceField(
                choices=[("true", _("Oui")), ("false", _("Non"))],
                coerce=lambda v: v == "true",
                widget=forms.RadioSelect,
                **{
                    **common,
                    "initial": None if initial is None else ("true" if initial else "false"),
                },
            )
        choices = [(o["code"], localized(o)) for o in question["options"]]
        if question["type"] == "multi":
            return forms.MultipleChoiceField(
                choices=choices, widget=forms.CheckboxSelectMultiple, **common
            )
        return forms.ChoiceField(choices=choices, widget=forms.RadioSelect, **common)

    def clean(self):
        cleaned = super().clean()
        for qid in list(self.fields):
            if qid in cleaned:
                try:
                    cleaned[qid] = self.book.clean_value(self.book.questions[qid], cleaned[qid])
                except ValueError as exc:
                    self.add_error(qid, str(exc))
        return cleaned

    def full_clean(self):
        super().full_clean()
        for qid in self.errors:
            if qid in self.fields:
                attrs = self.fields[qid].widget.attrs
                attrs["aria-describedby"] = f"{qid}-error {qid}-help"
                attrs["aria-invalid"] = "true"


class ObligationForm(forms.ModelForm):
    class Meta:
        model = Obligation
        fields = ["status", "justification", "owner", "due_date"]
        widgets = {"due_date": DATE_WIDGET, "justification": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        establishment_id = self.instance.ai_system.establishment_id
        self.fields["owner"].queryset = User.objects.filter(
            memberships__establishment_id=establishment_id, is_active=True
        ).distinct()
        if self.instance.owner_id is None and self.instance.proposed_owner_id:
            self.initial["owner"] = self.instance.proposed_owner_id  # the proposal, to accept
            self.fields["owner"].help_text = _(
                "Pré-rempli avec la proposition de Garant (d'après les rôles de l'établissement)."
            )

    @transaction.atomic
    def save(self, commit: bool = True) -> Obligation:
        """A due date changed by a person is never moved by a requalification; finishing an
        obligation (done or not applicable) dates it. The web page and the API both save here.
        (The justification that "non applicable" needs is checked by `Obligation.clean`.)"""
        obligation = super().save(commit=False)
        if "due_date" in self.changed_data:
            obligation.due_date_manual = True
        if obligation.status in (ObligationStatus.DONE, ObligationStatus.NOT_APPLICABLE):
            obligation.completed_at = obligation.completed_at or timezone.now()
        else:
            obligation.completed_at = None
        if commit:
            obligation.save()
        return obligation


class EvidenceForm(forms.ModelForm):
    url = forms.URLField(
        label=gettext_lazy("lien"), max_length=500, required=False, assume_scheme="https"
    )

    class Meta:
        model = Evidence
        fields = ["description", "file", "url"]

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload and upload.size > EVIDENCE_MAX_BYTES:
            raise ValidationError(
                _("Le fichier « %(name)s » dépasse 20 Mo.") % {"name": upload.name}
            )
        return upload

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("file") and not cleaned.get("url") and not self.errors:
            raise ValidationError(_("Joignez un fichier ou indiquez un lien."))
        return cleaned


class CommentForm(forms.ModelForm):
    class Meta:
        model = ObligationComment
        fields = ["text"]
        widgets = {"text": forms.Textarea(attrs={"rows": 2})}
        labels = {"text": gettext_lazy("Ajouter un commentaire")}
