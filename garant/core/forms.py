"""Forms of the user administration: create a user, edit one, give a role.

Which establishments an administrator may give roles in is decided by the caller (the
establishments where they hold the "manage" permission); a role elsewhere is not among the
choices, so it is refused as an invalid choice.
"""

from __future__ import annotations

import secrets

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from garant.core.models import Establishment, Membership, Role, Service, User

# No 0/O, 1/l/I: read aloud over the phone or copied from a screen without mistakes.
_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def temporary_password() -> str:
    """A one-time password such as "kQ7m-Xp3t-Wd9z-R4hn" (16 random characters, ~92 bits)."""
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(4))


def role_choices(establishments) -> list:
    """Checkbox choices "<establishment id>:<role>", grouped by establishment."""
    return [
        (est.name, [(f"{est.pk}:{value}", label) for value, label in Role.choices])
        for est in establishments
    ]


class IdentityFields(forms.ModelForm):
    """French labels for the identity fields of a user."""

    class Meta:
        model = User
        fields = ["first_name", "last_name", "email"]
        labels = {
            "first_name": _("prénom"),
            "last_name": _("nom"),
            "email": _("adresse e-mail"),
        }

    def clean_first_name(self):
        return self.cleaned_data["first_name"].strip()

    def clean_last_name(self):
        return self.cleaned_data["last_name"].strip()

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()


class UserCreateForm(IdentityFields):
    roles = forms.MultipleChoiceField(
        label=_("rôles"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Au moins un rôle dans un de vos établissements."),
    )

    class Meta(IdentityFields.Meta):
        fields = ["username", "first_name", "last_name", "email"]
        labels = {**IdentityFields.Meta.labels, "username": _("identifiant")}
        help_texts = {
            "username": _(
                "Par exemple prenom.nom ; lettres, chiffres et les caractères @ . + - _ "
                "(150 au plus)."
            )
        }

    def __init__(self, *args, establishments, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.establishments = {est.pk: est for est in establishments}
        self.fields["roles"].choices = role_choices(self.establishments.values())
        # a platform superuser may create an account before giving it a role
        self.fields["roles"].required = not actor.is_superuser
        self.password = None

    def role_groups(self) -> list[tuple[str, list]]:
        """The role checkboxes grouped by establishment, for one fieldset each."""
        groups: dict[str, list] = {}
        for checkbox in self["roles"]:
            est_id = int(str(checkbox.data["value"]).split(":", 1)[0])
            groups.setdefault(self.establishments[est_id].name, []).append(checkbox)
        return list(groups.items())

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("Cet identifiant est déjà utilisé."))
        return username

    def clean_roles(self):
        pairs = []
        for value in self.cleaned_data["roles"]:
            est_id, role = value.split(":", 1)  # only offered choices get here
            pairs.append((self.establishments[int(est_id)], role))
        return pairs

    def save(self, commit=True):
        """Create the user with a temporary password (kept in `self.password` to show once)."""
        user = super().save(commit=False)
        self.password = temporary_password()
        user.set_password(self.password)
        user.must_change_password = True
        if commit:
            user.save()
            for establishment, role in self.cleaned_data["roles"]:
                Membership.objects.create(user=user, establishment=establishment, role=role)
        return user


class UserEditForm(IdentityFields):
    class Meta(IdentityFields.Meta):
        fields = ["first_name", "last_name", "email", "is_active"]
        labels = {**IdentityFields.Meta.labels, "is_active": _("compte actif")}
        help_texts = {
            "is_active": _(
                "Décochez plutôt que supprimer : un compte désactivé ne peut plus se connecter "
                "et son historique est conservé."
            )
        }

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk == actor.pk:
            self.fields["is_active"].disabled = True
            self.fields["is_active"].help_text = _(
                "Vous ne pouvez pas désactiver votre propre compte."
            )


class MembershipForm(forms.ModelForm):
    establishment = forms.ModelChoiceField(
        label=_("établissement"), queryset=Establishment.objects.none()
    )

    class Meta:
        model = Membership
        fields = ["establishment", "role"]
        labels = {"role": _("rôle")}

    def __init__(self, *args, user, establishments, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.user = user
        self.fields["establishment"].queryset = establishments
        if len(establishments) == 1:
            self.fields["establishment"].empty_label = None

    def clean(self):
        data = super().clean()
        establishment, role = data.get("establishment"), data.get("role")
        if establishment and role:
            taken = Membership.objects.filter(
                user=self.instance.user, establishment=establishment, role=role
            )
            if taken.exists():
                raise forms.ValidationError(
                    _("Cet utilisateur a déjà ce rôle dans cet établissement.")
                )
        return data


class UserFilterForm(forms.Form):
    """The filters of the user list; an invalid value is reported and ignored."""

    STATES = [
        ("", _("Tous")),
        ("active", _("Actifs")),
        ("inactive", _("Désactivés")),
        ("must_change", _("Mot de passe à changer")),
    ]

    q = forms.CharField(label=_("Recherche (identifiant, nom, e-mail)"), required=False)
    establishment = forms.ModelChoiceField(
        label=_("établissement"),
        queryset=Establishment.objects.none(),
        required=False,
        empty_label=_("Tous"),
    )
    role = forms.ChoiceField(
        label=_("rôle"), choices=[("", _("Tous")), *Role.choices], required=False
    )
    state = forms.ChoiceField(label=_("état du compte"), choices=STATES, required=False)

    def __init__(self, *args, establishments, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["establishment"].queryset = establishments
        self.fields["q"].widget.attrs["type"] = "search"

    def filter(self, users, ids):
        """`users` narrowed by the valid filters; roles counted only in `ids` (None: all)."""
        data = self.cleaned_data
        if q := data.get("q", "").strip():
            users = users.filter(
                Q(username__icontains=q)
                | Q(first_name__icontains=q)
                | Q(last_name__icontains=q)
                | Q(email__icontains=q)
            )
        establishment, role = data.get("establishment"), data.get("role")
        if establishment or role:
            roles = Membership.objects.all()
            if ids is not None:
                roles = roles.filter(establishment_id__in=ids)
            if establishment:
                roles = roles.filter(establishment=establishment)
            if role:
                roles = roles.filter(role=role)
            users = users.filter(pk__in=roles.values("user_id"))
        state = data.get("state")
        if state == "active":
            users = users.filter(is_active=True)
        elif state == "inactive":
            users = users.filter(is_active=False)
        elif state == "must_change":
            users = users.filter(must_change_password=True)
        return users


class ServiceForm(forms.ModelForm):
    """A pole or service of an establishment the user administers (pages and API)."""

    class Meta:
        model = Service
        fields = ["establishment", "name", "pole"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["establishment"].queryset = Establishment.objects.for_user(user, "manage")
        if self.instance.pk:
            self.fields["establishment"].disabled = True

    def clean(self):
        data = super().clean()
        establishment, name = data.get("establishment"), (data.get("name") or "").strip()
        if establishment and name:
            clash = Service.objects.filter(establishment=establishment, name__iexact=name)
            if clash.exclude(pk=self.instance.pk).exists():
                self.add_error(
                    "name", _("Un service de ce nom existe déjà dans cet établissement.")
                )
        return data
