from siyu.errors import SiyuError


class WorkspaceError(SiyuError):
    code = "workspaces.invalid"


class WorkspaceNotFound(WorkspaceError):
    code = "workspaces.not_found"
    status = 404


class WorkspaceExists(WorkspaceError):
    code = "workspaces.exists"
    status = 409
