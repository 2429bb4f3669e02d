from .roles import user_roles


def role(request):
    return {"user_roles": user_roles(request.user)}
