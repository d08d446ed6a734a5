"""Environment variables by which connevo's own processes tell each other who they are.

Kept apart from the modules that read them so that the light ``connevo`` parent process that
supervises a campaign (:mod:`service.supervisor`) imports nothing heavy to name one.
"""

SUPERVISOR_PID_ENV = "CONNEVO_SUPERVISOR_PID"
"""Set in a driver that a supervisor watches (:mod:`service.supervisor`): the supervisor's pid."""

__all__ = ["SUPERVISOR_PID_ENV"]
