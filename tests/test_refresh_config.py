import pytest

from refresh_partner_data.config import DEFAULT_DATASETS, ConfigError, Settings

VALID = {
    "PARTNER_API_URL": "https://partner.example/api/InteliFunctionGetData",
    "DATA_BUCKET": "partner-data",
}


def test_defaults():
    settings = Settings.from_environ(VALID)
    assert settings.datasets == DEFAULT_DATASETS == ("category", "establishment", "sale")
    assert settings.timezone.key == "America/Sao_Paulo"
    assert settings.token_parameter is None


def test_everything_set():
    settings = Settings.from_environ(
        {
            **VALID,
            "PARTNER_API_TOKEN_PARAMETER": "/partner/token",
            "DATASETS": "sale, category",
            "TIMEZONE": "UTC",
        }
    )
    assert settings.datasets == ("sale", "category")
    assert settings.token_parameter == "/partner/token"
    assert settings.timezone.key == "UTC"


@pytest.mark.parametrize(
    ("changes", "variable"),
    [
        ({"PARTNER_API_URL": ""}, "PARTNER_API_URL is required"),
        ({"PARTNER_API_URL": "ftp://x/y"}, "PARTNER_API_URL must be an http(s) URL"),
        ({"PARTNER_API_URL": "https://user:pw@x/y"}, "PARTNER_API_URL must not carry credentials"),
        ({"PARTNER_API_URL": "https://x/y#frag"}, "PARTNER_API_URL must not have a #fragment"),
        ({"PARTNER_API_URL": "https://x/y?code=abc"}, "PARTNER_API_URL must not set code"),
        ({"DATA_BUCKET": ""}, "DATA_BUCKET is required"),
        ({"DATA_BUCKET": "Not_A_Bucket"}, "DATA_BUCKET is not a valid S3 bucket name"),
        ({"DATASETS": "sale,,category"}, "DATASETS has invalid dataset names"),
        ({"DATASETS": "sale/../x"}, "DATASETS has invalid dataset names"),
        ({"DATASETS": "sale,sale"}, "DATASETS names a dataset twice"),
        ({"TIMEZONE": "Mars/Olympus_Mons"}, "TIMEZONE is not a known IANA time zone"),
        ({"TIMEZONE": "../etc/passwd"}, "TIMEZONE is not a known IANA time zone"),
    ],
)
def test_configuration_errors_name_the_variable(changes, variable):
    with pytest.raises(ConfigError) as caught:
        Settings.from_environ({**VALID, **changes})
    assert str(caught.value).startswith(variable)


def test_the_url_may_carry_other_query_parameters():
    assert Settings.from_environ({**VALID, "PARTNER_API_URL": "https://x/y?region=br"}).api_url.endswith(
        "region=br"
    )
