from .roles import ADMIN, RESEARCHER, user_has_role, user_roles

# Clinicians (and the login page they see) get a neutral name: "Persona Paradox" would tell a
# rater that personas are what is being compared, which is itself a hint.
STAFF_SITE_NAME = "Persona Paradox Lab"
NEUTRAL_SITE_NAME = "Clinical Response Review"


def role(request):
    staff = user_has_role(request.user, ADMIN, RESEARCHER)
    return {"user_roles": user_roles(request.user), "site_name": STAFF_SITE_NAME if staff else NEUTRAL_SITE_NAME}
