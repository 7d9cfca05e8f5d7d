from django import forms

from textpeak.accounts.models import Member


class InviteForm(forms.Form):
    email = forms.EmailField(label="E-mail", max_length=254)
    name = forms.CharField(label="Name", max_length=150, required=False)
    role = forms.ChoiceField(
        label="Role",
        choices=Member.Role.choices,
        initial=Member.Role.MEMBER,
        help_text="Admins change streams and members; members see streams, messages and "
        "delivery logs.",
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Member.Role.choices)
