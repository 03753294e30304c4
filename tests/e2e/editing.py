"""Driving the workbench's editor as a person does: a new file, text pasted or typed into it."""

from __future__ import annotations


def paste_new_file(page, source: str) -> None:  # noqa: ANN001 - Playwright's page
    """A new protocol file whose text is ``source`` (pasted over the template), analysed."""
    page.wait_for_selector("body[data-workbench=ready]")
    page.click("#new-file")
    page.wait_for_selector("#protocol-name:has-text('untitled')")
    page.click("#editor .cm-content")
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.insert_text(source)  # one input event, as a paste
    # The analysis follows the text: wait until the form belongs to the pasted protocol.
    page.wait_for_function("(source) => window.labwrightWorkbench.state.analysedSource === source", arg=source)
