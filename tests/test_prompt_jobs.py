"""A person's prompt holds nothing (issue 29 item 1), at the unit layer: the tray's own worker and
prompt jobs, a fake service and prompts that wait as a person would.  The same on the real desktop:
tests/test_tray_prompt_jobs.py."""

from __future__ import annotations

import subprocess
import threading

import pytest

from tests.support.tray_fakes import FakePrompt, FakeService, quiet_prefs, settle
from trayapp.core.errors import Cancelled
from trayapp.core.preferences import Preferences
from trayapp.core.prompts import MfaRequest
from trayapp.tray import menu_model
from trayapp.tray.app import TrayApp
from trayapp.tray.dialog_prompt import DialogPrompt
from trayapp.tray.prefs import PrefsHolder


class WaitingPrompt(FakePrompt):
    """A dialog nobody answers until *answered* is set."""

    def __init__(self, asked: threading.Event, answered: threading.Event) -> None:
        super().__init__("123456")
        self.asked, self.answered = asked, answered

    def ask(self, request: MfaRequest, error: str | None = None) -> str | None:
        self.asked.set()
        self.answered.wait(30)
        return self.code


def waiting_app(
    service: FakeService, prefs: PrefsHolder | None = None
) -> tuple[TrayApp, threading.Event, threading.Event]:
    asked, answered = threading.Event(), threading.Event()
    app = TrayApp(service, notify=lambda title, body: None, prompt_factory=lambda: WaitingPrompt(asked, answered),
                  copy=lambda text: None, popup=lambda items: None, prefs=prefs or quiet_prefs())  # fmt: skip
    return app, asked, answered


def test_the_worker_goes_on_while_a_dialog_waits_for_its_code() -> None:
    """The bug: the assume's dialog ran on the one worker, and the timer's events waited behind it."""
    service = FakeService()
    app, asked, answered = waiting_app(service)
    try:
        app.perform("assume:prod")
        assert asked.wait(10)
        # Work the timer hands over meanwhile (a warning, a silent renewal, a redraw) runs now.
        assert app._worker.submit(lambda: "done").result(timeout=5) == "done"
        assert not answered.is_set()
    finally:
        answered.set()
        settle(app)
    assert "prod" in service.sessions()  # and the code, once typed, still assumed the role


def test_assume_favourites_clicked_twice_while_its_dialog_waits_runs_once() -> None:
    """The bug: a second "Assume favourites" was not claimed, and ran again once the first ended."""
    service = FakeService()
    prefs = PrefsHolder()
    prefs.set(Preferences(favourites=("prod",)))
    app, asked, answered = waiting_app(service, prefs)
    app.refresh()  # the menu, with its roles
    app.perform(menu_model.action(menu_model.FAVOURITES))
    assert asked.wait(10)
    app.perform(menu_model.action(menu_model.FAVOURITES))
    answered.set()
    settle(app)
    assert len(service.prompts) == 1


def test_quit_before_a_dialog_starts_opens_none() -> None:
    """The bug: Quit closed the dialog open at that moment only; one the assume was about to start
    opened after Quit, a window of a tray that was ending."""
    started: list[object] = []

    def spawn() -> subprocess.Popen[str]:
        started.append(object())
        raise OSError("no window should start")

    prompt = DialogPrompt(spawn=spawn)
    prompt.abort()
    with pytest.raises(Cancelled):
        prompt.ask(MfaRequest("prod", "arn:aws:iam::123456789012:role/Admin", "arn:aws:iam::1:mfa/a"))
    assert started == []
