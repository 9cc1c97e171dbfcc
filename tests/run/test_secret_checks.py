"""Which secret values the engine accepts: at least 4 characters; common words draw a warning."""

from __future__ import annotations

import pytest

from engine.errors import UserError
from engine.run.secret_checks import check_secret_values
from engine.states import ExitCode


@pytest.mark.parametrize("value", ["x", "ab", "abc", "    ", " ab\n"])
def test_a_value_shorter_than_four_characters_is_refused(value: str) -> None:
    with pytest.raises(UserError) as error:
        check_secret_values({"GOOD": "long-enough", "DEPLOY_KEY": value})
    assert error.value.exit_code == ExitCode.USAGE
    assert error.value.message.startswith("secret DEPLOY_KEY: ")
    assert "at least 4 characters" in error.value.message
    assert "\n" not in error.value.message


def test_every_short_secret_is_named_in_one_sentence() -> None:
    with pytest.raises(UserError, match=r"^secrets A, B: a secret value must be"):
        check_secret_values({"B": "b", "OK": "fine-value", "A": "aa"})


@pytest.mark.parametrize("value", ["password", "PASSWORD", "changeme", "true", "Null", "1234"])
def test_common_words_and_numbers_are_warned_about(value: str) -> None:
    (warning,) = check_secret_values({"DEPLOY_KEY": value, "OTHER": "k8s-9f2c-x1"})
    assert warning.startswith("secret DEPLOY_KEY looks like a common word or a number")
    assert value not in warning  # the warning never repeats the value


def test_ordinary_secrets_pass_without_a_word() -> None:
    assert check_secret_values({"A": "newcomer", "B": "s3cr3t-V4lue", "C": "12ab"}) == []
