"""User text as pages show it: paragraphs, kept line breaks, and lists written as lists."""

from __future__ import annotations

from flask.testing import FlaskClient

from portal.templating import text_blocks
from tests.factories import Factory


def test_lines_written_as_a_list_become_a_list_and_the_rest_stays_paragraphs() -> None:
    text = (
        "We want three things:\n- fewer missed appointments\n- shorter queues\r\n• reminders in Chinese\n\n"
        "Second paragraph,\nwith a kept line break.\n\n1. first\n2) second\n（3）第三\n\n"
        "-5 °C is not a list item,\n1.5 million is not either,\n-"
    )
    assert text_blocks(text) == [
        ("p", ["We want three things:"], 1),
        ("ul", ["fewer missed appointments", "shorter queues", "reminders in Chinese"], 1),
        ("p", ["Second paragraph,", "with a kept line break."], 1),
        ("ol", ["first", "second", "第三"], 1),
        ("p", ["-5 °C is not a list item,", "1.5 million is not either,", "-"], 1),
    ]
    assert text_blocks("Continued:\n3. third\n4、第四") == [("p", ["Continued:"], 1), ("ol", ["third", "第四"], 3)]
    assert text_blocks("") == [] and text_blocks(None) == [] and text_blocks("\n\n  \n") == []


def test_desired_outcomes_show_as_a_bulleted_list_and_the_language_row_speaks_the_page_language(
    client: FlaskClient, make: Factory
) -> None:
    challenge = make.challenge(
        title="Reminders that cut no-shows", desired_outcomes="- Fewer no-shows\n- <b>Shorter</b> queues",
    )
    page = client.get(f"/challenges/{challenge.id}").get_data(as_text=True)
    assert '<ul class="govuk-list govuk-list--bullet" lang="en"><li>Fewer no-shows</li>' in page
    assert "<li>&lt;b&gt;Shorter&lt;/b&gt; queues</li>" in page  # still escaped
    assert "- Fewer no-shows" not in page
    client.post("/language", data={"locale": "zh_Hant_HK"})
    page = client.get(f"/challenges/{challenge.id}").get_data(as_text=True)
    assert "英文" in page and ">English<" not in page.split("<main", 1)[1].split("</main>", 1)[0]
