"""Forms of the lifecycle: the one place where input is validated (web pages and API alike)."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from garant.core.dates import DATE_WIDGET
from garant.core.models import Establishment, Service
from garant.core.numbers import number
from garant.core.referentials import vocabulary
from garant.lifecycle import grids
from garant.lifecycle.models import (
    MIN_POC_WEEKS,
    CriterionScore,
    Idea,
    Indicator,
    IndicatorValue,
    NotApplicableIndicator,
    PocCharter,
    Project,
)

MONITORING_METRICS = [
    ("auc", _("AUC")),
    ("sensitivity", _("Sensibilité (rappel)")),
    ("specificity", _("Spécificité")),
    ("ppv", _("Valeur prédictive positive (précision)")),
    ("npv", _("Valeur prédictive négative")),
    ("fpr", _("Taux de faux positifs")),
    ("fnr", _("Taux de faux négatifs")),
    ("flag_rate", _("Taux d'alertes")),
    ("brier", _("Score de Brier")),
    ("ece", _("Erreur de calibration (ECE)")),
]


def _establishment_field(form, user, permission: str) -> None:
    establishments = Establishment.objects.for_user(user, permission)
    field = form.fields["establishment"]
    field.queryset = establishments
    field.empty_label = None if establishments.count() == 1 else "---------"


class IdeaForm(forms.ModelForm):
    class Meta:
        model = Idea
        fields = [
            "establishment",
            "title",
            "need",
            "service",
            "expected_benefit",
            "benefit_details",
            "data_available",
            "solution_known",
            "solution_name",
        ]
        widgets = {
            "need": forms.Textarea(attrs={"rows": 4}),
            "benefit_details": forms.Textarea(attrs={"rows": 2}),
            "data_available": forms.Textarea(attrs={"rows": 2}),
            "expected_benefit": forms.RadioSelect,
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        _establishment_field(self, user, "submit_idea")
        self.fields["service"].queryset = Service.objects.for_user(user).select_related(
            "establishment"
        )

    def clean(self):
        data = super().clean()
        service, establishment = data.get("service"), data.get("establishment")
        if service and establishment and service.establishment_id != establishment.pk:
            self.add_error("service", _("Ce service appartient à un autre établissement."))
        if data.get("solution_known") and not (data.get("solution_name") or "").strip():
            self.add_error("solution_name", _("Précisez la solution connue."))
        return data


class AcceptForm(forms.Form):
    """Accepting an idea opens a register entry: its classification is asked here."""

    solution_type = forms.ChoiceField(label=_("type de solution"))
    domain = forms.ChoiceField(label=_("domaine"))
    modality = forms.ChoiceField(label=_("modalité de mise en œuvre"))
    reason = forms.CharField(
        label=_("commentaire pour l'auteur"), required=False, widget=forms.Textarea({"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("solution_type", "domain", "modality"):
            self.fields[name].choices = vocabulary(name).choices()


class MergeForm(forms.Form):
    into = forms.ModelChoiceField(label=_("fusionner avec l'idée"), queryset=Idea.objects.none())
    reason = forms.CharField(
        label=_("commentaire pour l'auteur"), required=False, widget=forms.Textarea({"rows": 2})
    )

    def __init__(self, *args, idea, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["into"].queryset = Idea.objects.within(
            establishment=idea.establishment
        ).exclude(pk=idea.pk)


class DeclineForm(forms.Form):
    reason = forms.CharField(label=_("motif du refus"), widget=forms.Textarea({"rows": 2}))


class TransitionForm(forms.Form):
    to_phase = forms.ChoiceField(label=_("nouvelle phase"))
    reason = forms.CharField(
        label=_("motif"), required=False, widget=forms.Textarea({"rows": 2}), max_length=2000
    )

    def __init__(self, *args, targets: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        phases = vocabulary("phase")
        self.fields["to_phase"].choices = [(p, phases.label_of(p)) for p in targets]


class ProjectSettingsForm(forms.ModelForm):
    """The grid (domain's by default, overridable with a reason) and the review period."""

    grid_code = forms.ChoiceField(label=_("grille de décision"), required=False)

    class Meta:
        model = Project
        fields = ["grid_code", "grid_override_reason", "review_period_months"]
        widgets = {"grid_override_reason": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        default = grids.grid_for_domain(self.instance.ai_system.domain)
        self.fields["grid_code"].choices = [
            ("", _("Grille du domaine (%(grid)s)") % {"grid": grids.grid(default).label})
        ] + grids.grid_choices()
        self.fields["review_period_months"].min_value = 1
        self.fields["review_period_months"].max_value = 60

    def clean(self):
        data = super().clean()
        code = data.get("grid_code") or ""
        default = grids.grid_for_domain(self.instance.ai_system.domain)
        if code == default:
            data["grid_code"] = code = ""
        if code and not (data.get("grid_override_reason") or "").strip():
            self.add_error(
                "grid_override_reason",
                _("Indiquez pourquoi une autre grille que celle du domaine est retenue."),
            )
        if not code:
            data["grid_override_reason"] = ""
        return data


class CharterForm(forms.ModelForm):
    class Meta:
        model = PocCharter
        fields = [
            "use_case",
            "operational_objective",
            "services",
            "users_count",
            "patient_population",
            "duration_weeks",
            "start_date",
            "end_date",
            "min_duration_weeks",
            "min_duration_reason",
            "users_involved",
            "data_quality_check",
            "scalability",
            "integration",
            "regulatory_status",
            "budget",
            "budget_notes",
        ]
        localized_fields = ["budget"]
        widgets = {
            "start_date": DATE_WIDGET,
            "end_date": DATE_WIDGET,
            "services": forms.SelectMultiple(attrs={"size": 5}),
            **{
                name: forms.Textarea(attrs={"rows": 2})
                for name in (
                    "use_case",
                    "operational_objective",
                    "patient_population",
                    "users_involved",
                    "data_quality_check",
                    "scalability",
                    "integration",
                    "regulatory_status",
                    "budget_notes",
                    "min_duration_reason",
                )
            },
        }

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.project = project
        self.fields["services"].queryset = Service.objects.within(
            establishment=project.establishment
        )
        self.fields["services"].required = False
        self.fields["users_count"].max_value = 1_000_000
        self.fields["duration_weeks"].max_value = 520
        self.fields["min_duration_weeks"].max_value = 520
        self.fields["min_duration_weeks"].required = False  # empty: the default duration
        self.fields["budget"].min_value = 0

    def clean(self):
        data = super().clean()
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", _("La date de fin précède la date de début."))
        weeks = data.get("min_duration_weeks")
        if weeks is None and "min_duration_weeks" not in self.errors:
            data["min_duration_weeks"] = weeks = MIN_POC_WEEKS
        if weeks is not None and weeks < MIN_POC_WEEKS:
            if not (data.get("min_duration_reason") or "").strip():
                self.add_error(
                    "min_duration_reason",
                    _(
                        "Une durée minimale de moins de %(n)s semaines demande un motif "
                        "(pourquoi un PoC plus court suffit)."
                    )
                    % {"n": MIN_POC_WEEKS},
                )
        elif weeks is not None:
            data["min_duration_reason"] = ""
        return data


class IndicatorForm(forms.ModelForm):
    criterion_code = forms.ChoiceField(label=_("critère de la grille"), required=False)
    grid_indicator = forms.ChoiceField(
        label=_("indicateur obligatoire de la grille"), required=False
    )
    metric = forms.ChoiceField(
        label=_("métrique du suivi"),
        required=False,
        choices=[("", "---------")] + MONITORING_METRICS,
    )

    class Meta:
        model = Indicator
        fields = [
            "name",
            "unit",
            "baseline",
            "target",
            "direction",
            "measurement_method",
            "frequency",
            "source",
            "feed",
            "metric",
            "criterion_code",
            "grid_indicator",
            "shortfall_reason",
        ]
        widgets = {
            "measurement_method": forms.Textarea(attrs={"rows": 2}),
            "shortfall_reason": forms.Textarea(attrs={"rows": 2}),
        }
        localized_fields = ["baseline", "target"]

    def __init__(self, *args, charter, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.charter = charter
        project = charter.project
        grid = grids.grid(project.effective_grid_code)
        self.fields["criterion_code"].choices = [("", "---------")] + [
            (c.code, f"{c.n}. {c.title}") for c in grid.criteria
        ]
        self.fields["grid_indicator"].choices = [("", "---------")] + [
            (m["code"], f"{c.n}. {grids.localized(m)}")
            for c in grid.criteria
            for m in c.mandatory_indicators
        ]
        from garant.monitoring.models import Feed

        self.fields["feed"].queryset = Feed.objects.within(ai_system=project.ai_system)

    def clean(self):
        data = super().clean()
        if data.get("source") == Indicator.Source.MONITORING:
            if not data.get("feed"):
                self.add_error("feed", _("Choisissez le flux de suivi qui fournit la valeur."))
            if not data.get("metric"):
                self.add_error("metric", _("Choisissez la métrique du suivi."))
        return data


class IndicatorValueForm(forms.ModelForm):
    class Meta:
        model = IndicatorValue
        fields = ["value", "measured_on", "comment"]
        widgets = {"measured_on": DATE_WIDGET, "comment": forms.TextInput()}
        localized_fields = ["value"]

    def __init__(self, *args, indicator, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.indicator = indicator

    def clean_measured_on(self):
        """Not in the future; within the PoC period of the charter while the PoC runs (after
        it, routine follow-up values are dated after the PoC's end)."""
        day = self.cleaned_data["measured_on"]
        today = timezone.localdate()
        if day > today:
            raise forms.ValidationError(
                _("La date %(day)s est dans le futur : saisissez une valeur déjà mesurée.")
                % {"day": day.strftime("%d/%m/%Y")}
            )
        charter = self.instance.indicator.charter
        if charter.start_date and day < charter.start_date:
            raise forms.ValidationError(
                _("La date %(day)s précède le début du PoC (%(start)s).")
                % {
                    "day": day.strftime("%d/%m/%Y"),
                    "start": charter.start_date.strftime("%d/%m/%Y"),
                }
            )
        running = charter.project.phase in ("instruction", "poc")
        if running and charter.end_date and day > charter.end_date:
            raise forms.ValidationError(
                _("La date %(day)s suit la fin du PoC (%(end)s) : corrigez la date ou la charte.")
                % {"day": day.strftime("%d/%m/%Y"), "end": charter.end_date.strftime("%d/%m/%Y")}
            )
        return day


class CorrectionForm(IndicatorValueForm):
    """A correction of a value already used by a frozen assessment: a new value that says why
    (the comment) and supersedes the one it corrects."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["comment"].required = True
        self.fields["comment"].label = _("motif de la correction")


class NotApplicableForm(forms.ModelForm):
    class Meta:
        model = NotApplicableIndicator
        fields = ["code", "reason"]
        widgets = {"reason": forms.Textarea(attrs={"rows": 3})}

    code = forms.ChoiceField(label=_("indicateur obligatoire de la grille"))

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.project = project
        grid = grids.grid(project.effective_grid_code)
        taken = set(
            NotApplicableIndicator.objects.within(project=project).values_list("code", flat=True)
        )
        self.fields["code"].choices = [
            (m["code"], f"{c.n}. {c.title} — {grids.localized(m)}")
            for c in grid.criteria
            for m in c.mandatory_indicators
            if m["code"] not in taken
        ]

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("Indiquez pourquoi cet indicateur ne s'applique pas."))
        return reason


class CriterionScoreForm(forms.ModelForm):
    """The score of one criterion (prefixed by its code on the assessment page)."""

    score = forms.TypedChoiceField(label=_("note"), required=False, coerce=int, empty_value=None)
    stop_if_met = forms.TypedChoiceField(
        required=False,
        coerce=lambda v: v == "yes",
        empty_value=None,
        choices=[("", _("sans réponse")), ("no", _("non")), ("yes", _("oui"))],
        widget=forms.RadioSelect,
    )

    class Meta:
        model = CriterionScore
        fields = ["score", "stop_if_met", "indicator_values", "evidence_links", "comment"]
        widgets = {
            "evidence_links": forms.Textarea(attrs={"rows": 2}),
            "comment": forms.Textarea(attrs={"rows": 2}),
            "indicator_values": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args, criterion: grids.Criterion, values, **kwargs):
        super().__init__(*args, **kwargs)
        self.criterion = criterion
        self.fields["score"].choices = [("", _("non noté"))] + criterion.scale.choices()
        self.fields["stop_if_met"].label = _("Condition d'arrêt constatée : %(stop_if)s") % {
            "stop_if": criterion.text("stop_if")
        }
        self.fields["indicator_values"].queryset = values
        if self.instance.pk and self.instance.stop_if_met is not None and not self.is_bound:
            self.initial["stop_if_met"] = "yes" if self.instance.stop_if_met else "no"
        self.fields["indicator_values"].label_from_instance = lambda v: (
            f"{v.indicator.name} : {number(v.value)} ({v.measured_on:%d/%m/%Y})"
        )
