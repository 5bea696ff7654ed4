from siyu.errors import SiyuError


class ProfileError(SiyuError):
    code = "profiles.invalid"
    status = 400


class ProfileNotFound(ProfileError):
    code = "profiles.not_found"
    status = 404


class TagNotFound(ProfileError):
    code = "tags.not_found"
    status = 404


class IdentityConflict(ProfileError):
    code = "identity.conflict"
    status = 409
