"""One error hierarchy for the whole applet.

Every error carries a message written for the user: one sentence that says
what went wrong and what to do.  Messages are built from a class-level
template and *named, non-secret* fields only (profile names, ARNs, paths),
so a key, token or MFA code can never end up in one by accident.
"""

from __future__ import annotations

from typing import ClassVar

from trayapp.i18n import _


class TrayappError(Exception):
    """Base class: ``str(error)`` is the sentence shown to the user."""

    template: ClassVar[str] = "Something went wrong."
    #: Exit status of the command line: 1 = the operation failed, 2 = usage/config.
    exit_code: ClassVar[int] = 1

    def __init__(self, **fields: object) -> None:
        self.fields = fields
        # Translated here, when the message is built: the templates stay English in the code.
        super().__init__(_(self.template).format(**fields))

    @property
    def message(self) -> str:
        return str(self)


# --- configuration (exit status 2) -------------------------------------------


class ConfigError(TrayappError):
    exit_code = 2
    template = "The AWS configuration is not usable: {reason}"


class ConfigUnreadable(ConfigError):
    template = "The AWS config file {path} can't be read: {reason}."


class UnknownProfile(ConfigError):
    template = "There is no role profile named '{profile}' in {path}."


class BrokenProfile(ConfigError):
    template = "Profile '{profile}' can't be used: {reason}."


class UsageError(TrayappError):
    exit_code = 2
    template = "{reason}"


# --- the credentials file (exit status 1) ------------------------------------


class CredentialsFileError(TrayappError):
    template = "The credentials file {path} was not changed: {reason}."


class ForeignSection(CredentialsFileError):
    template = (
        "The credentials file {path} already has a section [{section}] that trayapp "
        "did not write; rename or remove it, then try again."
    )


class UnparsableFile(CredentialsFileError):
    template = (
        "The credentials file {path} can't be parsed ({reason}); trayapp left it untouched — fix it, then try again."
    )


class FileAccessError(CredentialsFileError):
    template = "The credentials file {path} can't be written: {reason}."


class FileReadError(FileAccessError):
    template = "The credentials file {path} can't be read: {reason}."


# --- sessions ----------------------------------------------------------------


class NoSession(TrayappError):
    template = "Profile '{profile}' has no valid session; run 'trayapp assume {profile}' first."


class Cancelled(TrayappError):
    template = "Cancelled: no MFA code was entered for '{profile}'."


class NoPrompt(TrayappError):
    exit_code = 2
    template = (
        "Profile '{profile}' needs an MFA code, but there is no display and no "
        "terminal to ask for it; pass --code-stdin or --code."
    )


class InvalidCode(TrayappError, ValueError):
    """Also a ValueError: what :mod:`trayapp.core.commands`' checks raise for a bad value."""

    exit_code = 2
    template = "An MFA code is six digits; {problem}."


class ReusedCode(TrayappError):
    template = "This MFA code was already used; wait {seconds} s for the next code and enter that one."


class CodeSourceFailed(TrayappError):
    """``mfa_process`` or the YubiKey gave no code; *reason* never quotes what it printed."""

    template = "No MFA code came from {source}: {reason}."


class UntrustedCommand(TrayappError):
    """A command line from an AWS file another local user could have written; *reason* names the fix."""

    exit_code = 2
    template = "The {key} of profile '{profile}' was not run, because {reason}."


# --- STS (exit status 1) -----------------------------------------------------


class StsError(TrayappError):
    template = "AWS STS refused to assume {role_arn}: {reason}."


class WrongCode(StsError):
    template = "AWS rejected the MFA code: it is wrong or was already used; wait for the next code and try again."


class WrongSerial(StsError):
    template = (
        "AWS could not validate the MFA code against device {mfa_serial}; check that "
        "mfa_serial in profile '{profile}' is the device assigned to your IAM user."
    )


class NotAuthorised(StsError):
    template = (
        "Your IAM user is not allowed to assume {role_arn}; check the role's trust "
        "policy and your user's sts:AssumeRole permission."
    )


class ExpiredSourceKeys(StsError):
    template = "The credentials of source profile '{source}' have expired; refresh them, then try again."


class InvalidSourceKeys(StsError):
    template = (
        "AWS does not recognise the access key of source profile '{source}'; check the keys in your credentials file."
    )


class NoSourceCredentials(StsError):
    exit_code = 2
    template = "Source profile '{source}' has no credentials to sign the request with."


class DurationTooLong(StsError):
    template = (
        "The requested session length of {duration} s is longer than {role_arn} "
        "allows; lower duration_seconds or the default duration."
    )


class Throttled(StsError):
    template = "AWS STS is throttling requests right now; wait a few seconds and try again."


class StsUnreachable(StsError):
    template = "AWS STS at {endpoint} can't be reached; check your network connection."


class StsTimeout(StsError):
    template = "AWS STS at {endpoint} did not answer within {seconds} s; check your network."


class MalformedResponse(StsError):
    template = "AWS STS sent an answer trayapp could not understand; try again later."


class ExpiredAnswer(StsError):
    template = (
        "AWS STS sent a session for {role_arn} that has already expired; check that this "
        "computer's clock is right, then try again."
    )


class StsRefused(StsError):
    template = "AWS STS refused the request ({code}); see the AWS documentation for {code}."


class StsFailed(StsError):
    template = "AWS STS could not be asked to assume {role_arn}; try again, and see the log file if it fails again."


class SigninFailed(TrayappError):
    template = "The AWS console sign-in for '{profile}' failed: {reason}."


# --- IAM Identity Center (SSO) ------------------------------------------------


class UnknownSsoSession(ConfigError):
    template = "There is no IAM Identity Center sign-in named '{session}'; the config has: {known}."


class SsoSignedOut(TrayappError):
    template = "You are not signed in to '{session}'; run 'trayapp sso login {session}' first."


class SsoSignInFailed(TrayappError):
    template = "The sign-in to '{session}' did not finish: {reason}."


class SsoCacheRefused(TrayappError):
    template = "The sign-in cache {path} was not used: {reason}."


class SsoRefused(TrayappError):
    template = (
        "IAM Identity Center refused the request for '{profile}' ({code}); sign in again or ask your administrator."
    )


class SsoUnreachable(TrayappError):
    template = "IAM Identity Center at {endpoint} can't be reached; check your network connection."


class SsoTimeout(SsoUnreachable):
    template = "IAM Identity Center at {endpoint} did not answer within {seconds} s; check your network."


class SsoThrottled(SsoUnreachable):
    template = "IAM Identity Center at {endpoint} is throttling requests right now; wait a few seconds and try again."


class SsoServerError(SsoUnreachable):
    template = "IAM Identity Center at {endpoint} failed with an error of its own (HTTP {status}); try again later."


class SsoMalformedAnswer(TrayappError):
    """A hostile or broken sign-in server: *reason* names what was wrong, never the value."""

    template = "IAM Identity Center at {endpoint} sent an answer trayapp can't use ({reason}); nothing was changed."


class SsoStartUrlRefused(TrayappError):
    template = "The start URL of '{session}' can't be used: {reason}."


class SsoNobodyToAsk(TrayappError):
    template = (
        "Signing in to '{session}' needs a browser or a terminal, and this command has neither; "
        "run 'trayapp sso login {session}' first."
    )


# --- `aws login` sessions (login_session) ----------------------------------------


class LoginSignedOut(TrayappError):
    template = "'{profile}' has no aws login sign-in on this computer; run 'aws login --profile {profile}' first."


class LoginEnded(TrayappError):
    template = "The aws login sign-in of '{profile}' has ended; run 'aws login --profile {profile}' to sign in again."


class LoginNotPermitted(TrayappError):
    template = (
        "AWS refused to refresh the aws login sign-in of '{profile}': the identity needs the "
        "SignInLocalDevelopmentAccess policy (signin:CreateOAuth2Token); ask your administrator."
    )


class LoginRefreshFailed(TrayappError):
    template = "The aws login sign-in of '{profile}' could not be refreshed: {reason}."


class LoginCacheRefused(TrayappError):
    template = "The aws login cache {path} was not used: {reason}."
