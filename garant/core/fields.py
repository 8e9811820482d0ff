"""Model fields whose values are codes of a taxonomy vocabulary (a versioned referential).

The allowed codes and their labels are read from the referential in force, not frozen into
model choices, so a new taxonomy version needs no migration. `CodeField` holds one code;
`CodeSetField` a set of codes stored portably as ",a,b," and filtered with the `has` lookup
(`AISystem.objects.filter(data_categories__has="health")`, a plain LIKE on SQLite and
PostgreSQL alike).
"""

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Lookup
from django.utils.translation import gettext as _

from garant.core.referentials import vocabulary


class CodeField(models.CharField):
    def __init__(self, *args, vocabulary: str = "", **kwargs):
        self.vocabulary = vocabulary
        kwargs.setdefault("max_length", 20)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["vocabulary"] = self.vocabulary
        return name, path, args, kwargs

    def validate(self, value, model_instance):
        super().validate(value, model_instance)
        if value not in self.empty_values and value not in vocabulary(self.vocabulary):
            raise ValidationError(
                _("Valeur inconnue : %(codes)s"), code="invalid_choice", params={"codes": value}
            )

    def formfield(self, **kwargs):
        blank = [] if self.has_default() else [("", "---------")]
        return forms.TypedChoiceField(
            choices=lambda: blank + vocabulary(self.vocabulary).choices(),
            required=not self.blank,
            label=self.verbose_name,
            help_text=self.help_text,
            initial=self.default if self.has_default() else None,
        )

    def contribute_to_class(self, cls, name, *args, **kwargs):
        super().contribute_to_class(cls, name, *args, **kwargs)
        vocab_name = self.vocabulary

        def display(instance):
            return vocabulary(vocab_name).label_of(getattr(instance, name))

        def description(instance):
            return vocabulary(vocab_name).description_of(getattr(instance, name))

        setattr(cls, f"get_{name}_display", display)
        setattr(cls, f"get_{name}_description", description)


class CodeSetField(models.CharField):
    def __init__(self, *args, vocabulary: str = "", **kwargs):
        self.vocabulary = vocabulary
        kwargs.setdefault("max_length", 200)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", list)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["vocabulary"] = self.vocabulary
        return name, path, args, kwargs

    def from_db_value(self, value, expression, connection):
        return self.to_python(value)

    def to_python(self, value):
        if value is None or value == "":
            return []
        if isinstance(value, list | tuple | set):
            return sorted({str(v) for v in value})
        return sorted({code for code in str(value).split(",") if code})

    def get_prep_value(self, value):
        codes = self.to_python(value)
        return "," + ",".join(sorted(set(codes))) + "," if codes else ""

    def value_to_string(self, obj):
        return self.get_prep_value(self.value_from_object(obj))

    def validate(self, value, model_instance):
        vocab = vocabulary(self.vocabulary)
        unknown = [code for code in self.to_python(value) if code not in vocab]
        if unknown:
            raise ValidationError(
                _("Valeur inconnue : %(codes)s"), params={"codes": ", ".join(unknown)}
            )
        if not self.blank and not value:
            raise ValidationError(self.error_messages["blank"], code="blank")

    def contribute_to_class(self, cls, name, *args, **kwargs):
        super().contribute_to_class(cls, name, *args, **kwargs)
        vocab_name = self.vocabulary

        def display(instance):
            vocab = vocabulary(vocab_name)
            return ", ".join(vocab.label_of(c) for c in getattr(instance, name))

        setattr(cls, f"get_{name}_display", display)

    def formfield(self, **kwargs):
        return forms.MultipleChoiceField(
            choices=vocabulary(self.vocabulary).choices,
            required=not self.blank,
            label=self.verbose_name,
            help_text=self.help_text,
            widget=forms.CheckboxSelectMultiple,
        )


@CodeSetField.register_lookup
class HasCode(Lookup):
    lookup_name = "has"
    prepare_rhs = False  # the right-hand side is one code, not a set to serialise

    def get_db_prep_lookup(self, value, connection):
        return ("%s", [f"%,{value},%"])

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} LIKE {rhs}", [*lhs_params, *rhs_params]
